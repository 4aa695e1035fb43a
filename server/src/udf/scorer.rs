//! What the scoring UDFs share: the promoted model of one registry name,
//! argument coercion, conversion of Arrow arguments into feature columns,
//! and scoring or explaining a batch.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ColumnarValue;

use crate::ml::model::Artifact;
use crate::ml::registry::{Live, Registry};

/// The promoted version of one model, scored over Arrow arguments.
#[derive(Debug)]
pub struct Scorer {
    name: String,
    live: Live<Artifact>,
}

fn exec(msg: String) -> DataFusionError {
    DataFusionError::Execution(msg)
}

/// Numbers and booleans become Float64; text stays text (Utf8View, as
/// Parquet delivers it); NULL literals become Float64. Anything else is a
/// planning error that names the argument.
pub fn coerce(function: &str, arg_types: &[DataType], skip: usize) -> Result<Vec<DataType>> {
    if arg_types.len() <= skip {
        return Err(DataFusionError::Plan(format!(
            "{function} needs the model's inputs as arguments; see `quarry models show` for the list"
        )));
    }
    arg_types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i < skip {
                return match t {
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => Ok(DataType::Utf8),
                    _ => Err(DataFusionError::Plan(format!(
                        "{function}: the first argument is the model's name as a text literal, as in {function}('churn', ...)"
                    ))),
                };
            }
            match t {
                t if t.is_numeric() => Ok(DataType::Float64),
                DataType::Boolean | DataType::Null => Ok(DataType::Float64),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => Ok(DataType::Utf8View),
                DataType::Dictionary(_, v) if v.is_numeric() => Ok(DataType::Float64),
                DataType::Dictionary(_, _) => Ok(DataType::Utf8View),
                other => Err(DataFusionError::Plan(format!(
                    "{function}: argument {} has type {other}; give numbers, booleans or text (cast dates and times to a number first)",
                    i + 1
                ))),
            }
        })
        .collect()
}

impl Scorer {
    pub fn new(registry: &Registry, name: &str) -> Self {
        Self {
            name: name.to_string(),
            live: Live::new(registry.clone(), name),
        }
    }

    pub fn shared(registry: &Registry, name: &str) -> Arc<Self> {
        Arc::new(Self::new(registry, name))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The promoted model, or an error that says how to get one.
    pub fn model(&self, function: &str) -> Result<Arc<Artifact>> {
        self.live.get().map(|(_, m)| m).map_err(|e| {
            exec(format!(
                "{function}: {e}. Train it with `quarry train {}` (or promote a version with `quarry models promote {} N`)",
                self.name, self.name
            ))
        })
    }

    /// Arguments as feature columns (NaN for null or unknown), plus which
    /// rows had every input null (their result is null).
    fn columns(
        &self,
        function: &str,
        model: &Artifact,
        args: &[ColumnarValue],
        rows: usize,
    ) -> Result<(Vec<Vec<f64>>, Vec<bool>)> {
        if args.len() != model.features.len() {
            return Err(exec(format!(
                "{function}: {}",
                model.arity_error(args.len())
            )));
        }
        let mut all_null = vec![true; rows];
        let mut out = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let array = arg.to_array(rows)?;
            let feature = &model.features[i];
            let col = match (array.data_type(), &feature.categories) {
                // A column of nulls (an untyped NULL literal arrives as a
                // number) is missing whatever the input's kind.
                _ if array.null_count() == array.len() => vec![f64::NAN; rows],
                (DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8, Some(cats)) => {
                    let text = cast(&array, &DataType::Utf8View)?;
                    let text = text.as_string_view();
                    (0..rows)
                        .map(|r| {
                            if text.is_null(r) {
                                f64::NAN
                            } else {
                                cats.get(text.value(r)).copied().unwrap_or(f64::NAN)
                            }
                        })
                        .collect()
                }
                (DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8, None) => {
                    return Err(exec(format!(
                        "{function}: argument {} ({}) is text, but model {} learned it as a number",
                        i + 1,
                        feature.name,
                        model.name
                    )));
                }
                (DataType::Null, _) => vec![f64::NAN; rows],
                (_, Some(_)) => {
                    return Err(exec(format!(
                        "{function}: argument {} ({}) must be text: model {} learned it as categories",
                        i + 1,
                        feature.name,
                        model.name
                    )));
                }
                _ => numbers(&array)?,
            };
            for (r, n) in all_null.iter_mut().enumerate() {
                if !array.is_null(r) {
                    *n = false;
                }
            }
            out.push(col);
        }
        Ok((out, all_null))
    }

    /// Scores a batch: Float64, null where every input is null or the model
    /// gives no number.
    pub fn score(
        &self,
        function: &str,
        args: &[ColumnarValue],
        rows: usize,
    ) -> Result<ColumnarValue> {
        let model = self.model(function)?;
        let (cols, all_null) = self.columns(function, &model, args, rows)?;
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let mut out = vec![0.0; rows];
        model
            .score(&refs, &mut out)
            .map_err(|e| exec(format!("{function}: {e}")))?;
        let array: Float64Array = out
            .iter()
            .zip(&all_null)
            .map(|(v, n)| (!n && v.is_finite()).then_some(*v))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(array) as ArrayRef))
    }

    /// The top contributing inputs of each row, as text; null where every
    /// input is null.
    pub fn reasons(
        &self,
        function: &str,
        args: &[ColumnarValue],
        rows: usize,
    ) -> Result<ColumnarValue> {
        let model = self.model(function)?;
        let (cols, all_null) = self.columns(function, &model, args, rows)?;
        let mut b = StringBuilder::with_capacity(rows, rows * 64);
        let mut row = vec![0.0; cols.len()];
        for (r, null) in all_null.iter().enumerate() {
            if *null {
                b.append_null();
                continue;
            }
            for (k, c) in cols.iter().enumerate() {
                row[k] = c[r];
            }
            let text = model
                .reasons(&row, 3)
                .map_err(|e| exec(format!("{function}: {e}")))?;
            b.append_value(text);
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish()) as ArrayRef))
    }
}

fn numbers(array: &ArrayRef) -> Result<Vec<f64>> {
    let f = cast(array, &DataType::Float64)?;
    let f = f.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
    Ok((0..f.len())
        .map(|r| if f.is_null(r) { f64::NAN } else { f.value(r) })
        .collect())
}

/// The model name from a `predict('name', ...)` call's first argument,
/// which must be the same text for the whole batch.
pub fn model_name(function: &str, arg: &ColumnarValue) -> Result<String> {
    let err = || {
        exec(format!(
            "{function}: the first argument is the model's name as a text literal, as in {function}('churn', ...)"
        ))
    };
    match arg {
        ColumnarValue::Scalar(s) => match s {
            datafusion::scalar::ScalarValue::Utf8(Some(v))
            | datafusion::scalar::ScalarValue::Utf8View(Some(v))
            | datafusion::scalar::ScalarValue::LargeUtf8(Some(v)) => Ok(v.clone()),
            _ => Err(err()),
        },
        ColumnarValue::Array(a) => {
            let text = cast(a, &DataType::Utf8View)?;
            let text = text.as_string_view();
            if text.is_empty() || text.null_count() > 0 {
                return Err(err());
            }
            let first = text.value(0);
            if (1..text.len()).any(|r| text.value(r) != first) {
                return Err(err());
            }
            Ok(first.to_string())
        }
    }
}

/// Scorers by model name, for `predict('name', ...)` and
/// `model_reasons('name', ...)`, created on first use.
#[derive(Debug)]
pub struct ByName {
    registry: Registry,
    scorers: std::sync::Mutex<std::collections::BTreeMap<String, Arc<Scorer>>>,
}

impl ByName {
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            scorers: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    pub fn get(&self, function: &str, args: &[ColumnarValue]) -> Result<Arc<Scorer>> {
        let Some(first) = args.first() else {
            return Err(exec(format!(
                "{function} needs a model name and the model's inputs"
            )));
        };
        let name = model_name(function, first)?;
        let mut map = self
            .scorers
            .lock()
            .map_err(|_| exec(format!("{function}: the model cache is unusable")))?;
        Ok(map
            .entry(name.clone())
            .or_insert_with(|| Scorer::shared(&self.registry, &name))
            .clone())
    }
}

/// Where a scoring UDF finds its model: one fixed model, or the model named
/// by the first argument.
pub trait ModelSource: std::fmt::Debug + Send + Sync + 'static {
    /// Leading arguments that are not model inputs.
    const LEADING: usize;
    /// Tells two instances apart, for DataFusion's function equality.
    fn key(&self) -> &str;
    fn scorer(&self, function: &str, args: &[ColumnarValue]) -> Result<Arc<Scorer>>;
}

impl ModelSource for Arc<Scorer> {
    const LEADING: usize = 0;
    fn key(&self) -> &str {
        self.name()
    }
    fn scorer(&self, _function: &str, _args: &[ColumnarValue]) -> Result<Arc<Scorer>> {
        Ok(Arc::clone(self))
    }
}

impl ModelSource for ByName {
    const LEADING: usize = 1;
    fn key(&self) -> &str {
        ""
    }
    fn scorer(&self, function: &str, args: &[ColumnarValue]) -> Result<Arc<Scorer>> {
        self.get(function, args)
    }
}

/// Implements a scoring UDF: the struct holds its signature (user-defined,
/// coerced by [`coerce`], `Volatile`) and its [`ModelSource`]; `$method` is
/// `score` (Float64) or `reasons` (Utf8).
macro_rules! model_udf {
    ($ty:ident, $sql:literal, $source:ty, $method:ident, $ret:expr) => {
        #[derive(Debug)]
        pub struct $ty {
            signature: datafusion::logical_expr::Signature,
            source: $source,
        }

        impl $ty {
            pub fn new(source: $source) -> Self {
                Self {
                    signature: datafusion::logical_expr::Signature::user_defined(
                        datafusion::logical_expr::Volatility::Volatile,
                    ),
                    source,
                }
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                use $crate::udf::scorer::ModelSource;
                self.source.key() == other.source.key()
            }
        }
        impl Eq for $ty {}
        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                use $crate::udf::scorer::ModelSource;
                $sql.hash(state);
                self.source.key().hash(state);
            }
        }

        impl datafusion::logical_expr::ScalarUDFImpl for $ty {
            fn name(&self) -> &str {
                $sql
            }
            fn signature(&self) -> &datafusion::logical_expr::Signature {
                &self.signature
            }
            fn return_type(
                &self,
                _arg_types: &[datafusion::arrow::datatypes::DataType],
            ) -> datafusion::error::Result<datafusion::arrow::datatypes::DataType> {
                Ok($ret)
            }
            fn coerce_types(
                &self,
                arg_types: &[datafusion::arrow::datatypes::DataType],
            ) -> datafusion::error::Result<Vec<datafusion::arrow::datatypes::DataType>> {
                use $crate::udf::scorer::ModelSource;
                $crate::udf::scorer::coerce($sql, arg_types, <$source>::LEADING)
            }
            fn invoke_with_args(
                &self,
                args: datafusion::logical_expr::ScalarFunctionArgs,
            ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
                use $crate::udf::scorer::ModelSource;
                let scorer = self.source.scorer($sql, &args.args)?;
                let inputs = args.args.get(<$source>::LEADING..).unwrap_or_default();
                scorer.$method($sql, inputs, args.number_rows)
            }
        }
    };
}
pub(crate) use model_udf;
