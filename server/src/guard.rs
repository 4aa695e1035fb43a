//! The SQL guard: the only door raw SQL passes through on its way to the engine.
//! Raw SQL comes from the optional LLM planner as a last resort, so it is
//! treated as hostile. The guard parses it with the engine's own parser
//! (DataFusion's sqlparser, generic dialect, the same recursion limit),
//! accepts exactly one read-only query over the relations and functions it
//! was given, caps the rows the outermost query returns, and hands back SQL
//! printed from the checked syntax tree, so what runs is what was checked
//! (comments and any text the parser ignored are gone). Anything it does not
//! understand is refused: a refusal costs one planner retry, a query that
//! slips through can cost a wrong number or a leak.
//!
//! Decisions a caller should know:
//! - Relations are bare names, resolved as DataFusion resolves them
//!   (unquoted names fold to ASCII lower case, quoted names are exact). Any
//!   qualified name is refused, `public.installs` included, with the bare
//!   name to use instead: a schema or catalog prefix is the way to reach
//!   `information_schema` and tables the semantic layer does not expose.
//! - CTE names are visible where DataFusion makes them visible: in later
//!   CTEs of the same `WITH`, in its body and in subqueries below it.
//!   `WITH RECURSIVE` is refused (it can run without end).
//! - `now()`, `CURRENT_DATE` and the other clock functions are refused: the
//!   data ends at the warehouse's as-of date, not today.
//! - The outermost query gets `LIMIT row_limit` when it has none and is
//!   lowered to it when higher; LIMIT and OFFSET there must be literals.
//!   Inner limits are left as written.
//! - Control characters and bidirectional controls are refused anywhere;
//!   invisible characters, non-ASCII spaces and non-ASCII punctuation are
//!   refused outside string literals and comments. Look-alike letters are
//!   legal in identifiers, so they can name aliases but never match a
//!   relation.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Function, FunctionArguments, Ident, LimitClause, ObjectName, ObjectNamePart, Offset,
    OffsetRows, Query, Select, SelectFlavor, SetExpr, Statement, TableFactor, Value, Visit,
    Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};
use quarry_schema::SemanticModel;
use quarry_schema::diagnostics::did_you_mean;
use quarry_schema::model::Source;
use serde::Serialize;

/// Longest SQL accepted, in characters. Far above anything the compiler or a
/// planner writes for one question, and low enough that the deepest syntax
/// tree a chain of operators can build stays well inside a thread's stack.
pub const MAX_SQL_CHARS: usize = 20_000;

/// The parser's nesting limit: DataFusion's default
/// (`datafusion.sql_parser.recursion_limit`), so whatever the guard accepts
/// the engine's parser accepts too, and deep nesting is an error rather than
/// a stack overflow.
pub const RECURSION_LIMIT: usize = 50;

/// How deep expressions and chains of set operations may nest. The parser
/// builds chains like `1 + 1 + ... + 1` or `SELECT 1 UNION SELECT 1 ...`
/// in a loop, without its recursion limit, so a long input can make a tree
/// thousands of levels deep; that is refused here, before anything walks
/// it recursively (this guard, then the engine's planner).
pub const MAX_NESTING: usize = 256;

/// Functions any guarded query may call: aggregates, window functions and
/// pure scalar functions that read nothing but their arguments. Functions
/// that can allocate without bound (`repeat`, `lpad`) or that break
/// reproducibility (`random`) are left out. Sorted, for the binary search.
const BUILTIN_FUNCTIONS: &[&str] = &[
    "abs",
    "acos",
    "approx_distinct",
    "approx_median",
    "approx_percentile_cont",
    "approx_percentile_cont_with_weight",
    "asin",
    "atan",
    "atan2",
    "avg",
    "bit_length",
    "bool_and",
    "bool_or",
    "btrim",
    "cbrt",
    "ceil",
    "char_length",
    "character_length",
    "coalesce",
    "concat",
    "concat_ws",
    "corr",
    "cos",
    "count",
    "covar",
    "covar_pop",
    "covar_samp",
    "cume_dist",
    "date_bin",
    "date_format",
    "date_part",
    "date_trunc",
    "datepart",
    "datetrunc",
    "degrees",
    "dense_rank",
    "ends_with",
    "exp",
    "first_value",
    "floor",
    "from_unixtime",
    "greatest",
    "initcap",
    "isnan",
    "iszero",
    "lag",
    "last_value",
    "lead",
    "least",
    "left",
    "length",
    "ln",
    "log",
    "log10",
    "log2",
    "lower",
    "ltrim",
    "make_date",
    "max",
    "mean",
    "median",
    "min",
    "nanvl",
    "nth_value",
    "ntile",
    "nullif",
    "nvl",
    "nvl2",
    "octet_length",
    "percent_rank",
    "percentile_cont",
    "pi",
    "pow",
    "power",
    "radians",
    "rank",
    "regexp_like",
    "regexp_match",
    "regexp_replace",
    "replace",
    "reverse",
    "right",
    "round",
    "row_number",
    "rtrim",
    "signum",
    "sin",
    "split_part",
    "sqrt",
    "starts_with",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "strpos",
    "substr",
    "substring",
    "sum",
    "tan",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_timestamp_micros",
    "to_timestamp_millis",
    "to_timestamp_seconds",
    "to_unixtime",
    "trim",
    "trunc",
    "upper",
    "var",
    "var_pop",
    "var_samp",
    "variance",
];

/// Functions that read the wall clock. The warehouse's data ends at its
/// as-of date, which is usually not today, and the compiler resolves "last
/// month" against that date; a query built on `now()` silently counts the
/// wrong period, so these are refused with a pointer to literal dates.
const CLOCK_FUNCTIONS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "getdate",
    "localtime",
    "localtimestamp",
    "now",
    "sysdate",
    "today",
    "utc_timestamp",
];

/// Statement keywords that change data, schema or the session's catalog,
/// named in the refusal so the planner knows why.
const WRITE_KEYWORDS: &[&str] = &[
    "ALTER", "ATTACH", "COMMENT", "COPY", "CREATE", "DELETE", "DETACH", "DROP", "GRANT", "INSERT",
    "INSTALL", "LOAD", "MERGE", "RENAME", "REPLACE", "REVOKE", "TRUNCATE", "UNLOAD", "UPDATE",
    "UPSERT", "VACUUM",
];

/// Checks raw SQL against the relations and functions a deployment exposes.
#[derive(Debug, Clone)]
pub struct Guard {
    relations: BTreeSet<String>,
    functions: BTreeSet<String>,
    row_limit: u64,
}

/// SQL that passed the guard, and what it touches.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The query printed from its checked syntax tree, limit included.
    pub sql: String,
    /// Allowed relations the query reads (CTE names are not listed), sorted.
    pub relations: Vec<String>,
    /// Functions the query calls, lower-cased and sorted.
    pub functions: Vec<String>,
    /// The row limit of the outermost query as it will run.
    pub limit: u64,
    /// True when the guard added the limit or lowered it, so the result may
    /// be a truncated view and the answer should say so.
    pub limit_added: bool,
}

/// Why SQL was refused. Every message says what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    #[error("the SQL is empty; write one SELECT query")]
    Empty,
    #[error("the SQL is {chars} characters long, more than the {max} allowed; shorten it")]
    TooLong { chars: usize, max: usize },
    #[error(
        "character {code_point} ({what}) at line {line}, column {column} is not allowed {place}; retype that part in plain characters"
    )]
    ForbiddenCharacter {
        code_point: String,
        what: &'static str,
        place: &'static str,
        line: u64,
        column: u64,
    },
    #[error("the SQL does not parse: {0}; write one standard SELECT query")]
    Parse(String),
    #[error(
        "the SQL nests deeper than the {max} levels allowed; flatten it, for example with WITH"
    )]
    TooDeep { max: usize },
    #[error(
        "found {count} statements; only one query may run at a time, so send a single SELECT without a semicolon in between"
    )]
    MultipleStatements { count: usize },
    #[error(
        "{statement} is not a query; only a read-only SELECT (optionally with WITH) may run here"
    )]
    NotAQuery { statement: String },
    #[error(
        "{statement} writes data or changes the catalog; only read-only SELECT queries may run"
    )]
    Write { statement: String },
    #[error("unknown relation \"{name}\"{hint}; the relations that can be queried are: {allowed}")]
    UnknownRelation {
        name: String,
        hint: String,
        allowed: String,
    },
    #[error("qualified name \"{name}\": schemas and catalogs cannot be named; {what_to_do}")]
    QualifiedName { name: String, what_to_do: String },
    #[error(
        "\"{name}\" is a table function; read from the allowed relations by name, not from functions in FROM"
    )]
    TableFunction { name: String },
    #[error("unknown function \"{name}\"{hint}; allowed functions include {examples}")]
    UnknownFunction {
        name: String,
        hint: String,
        examples: String,
    },
    #[error(
        "{name}() reads the clock, but the data ends at the warehouse's as-of date; write literal dates such as DATE '2024-03-01' instead"
    )]
    ClockFunction { name: String },
    #[error("{0}; write LIMIT and OFFSET as plain non-negative whole numbers")]
    BadLimit(String),
    #[error("{0} is not supported here; write plain standard SQL")]
    Unsupported(String),
    #[error(
        "the checked query does not print back to the same SQL, so it cannot be run safely; simplify it"
    )]
    Unstable,
}

impl GuardError {
    /// A stable code for the API and for tests; one per variant.
    pub fn code(&self) -> &'static str {
        match self {
            GuardError::Empty => "empty",
            GuardError::TooLong { .. } => "too_long",
            GuardError::ForbiddenCharacter { .. } => "forbidden_character",
            GuardError::Parse(_) => "parse",
            GuardError::TooDeep { .. } => "too_deep",
            GuardError::MultipleStatements { .. } => "multiple_statements",
            GuardError::NotAQuery { .. } => "not_a_query",
            GuardError::Write { .. } => "write",
            GuardError::UnknownRelation { .. } => "unknown_relation",
            GuardError::QualifiedName { .. } => "qualified_name",
            GuardError::TableFunction { .. } => "table_function",
            GuardError::UnknownFunction { .. } => "unknown_function",
            GuardError::ClockFunction { .. } => "clock_function",
            GuardError::BadLimit(_) => "bad_limit",
            GuardError::Unsupported(_) => "unsupported",
            GuardError::Unstable => "unstable",
        }
    }
}

impl Guard {
    /// A guard over `relations` (bare names, matched as the engine resolves
    /// them: unquoted names case-insensitively) and `functions` on top of the
    /// built-in allowlist; the outermost query returns at most `row_limit` rows.
    pub fn new(
        relations: impl IntoIterator<Item = String>,
        functions: impl IntoIterator<Item = String>,
        row_limit: u64,
    ) -> Self {
        Self {
            relations: relations
                .into_iter()
                .map(|r| r.to_ascii_lowercase())
                .collect(),
            functions: BUILTIN_FUNCTIONS
                .iter()
                .map(|f| (*f).to_string())
                .chain(functions.into_iter().map(|f| f.to_ascii_lowercase()))
                .collect(),
            row_limit,
        }
    }

    /// A guard over the tables the model's entities read (entities defined by
    /// SQL are not relations of the engine) plus `extra_relations`, such as
    /// views registered next to the model.
    pub fn from_model(
        model: &SemanticModel,
        extra_relations: impl IntoIterator<Item = String>,
        functions: impl IntoIterator<Item = String>,
        row_limit: u64,
    ) -> Self {
        let tables = model.entities.values().filter_map(|e| match &e.source {
            Source::Table(t) => Some(t.clone()),
            Source::Sql(_) => None,
        });
        Self::new(
            tables.chain(extra_relations).collect::<Vec<_>>(),
            functions,
            row_limit,
        )
    }

    /// The relations queries may read, sorted.
    pub fn relations(&self) -> impl Iterator<Item = &str> {
        self.relations.iter().map(String::as_str)
    }

    /// Checks `sql` and returns it limited and reprinted, or the first
    /// reason to refuse it.
    pub fn check(&self, sql: &str) -> Result<Checked, GuardError> {
        let chars = sql.chars().count();
        if chars > MAX_SQL_CHARS {
            return Err(GuardError::TooLong {
                chars,
                max: MAX_SQL_CHARS,
            });
        }
        let first = self.check_text(sql)?;
        // The engine parses the printed SQL again. Checking that text too
        // means a printing quirk cannot turn an accepted tree into a
        // different one; the printed form may be a little longer than the
        // input, so the length bound is not applied twice.
        let again = self
            .check_text(&first.sql)
            .map_err(|_| GuardError::Unstable)?;
        if again.sql != first.sql {
            return Err(GuardError::Unstable);
        }
        Ok(first)
    }

    fn check_text(&self, sql: &str) -> Result<Checked, GuardError> {
        let dialect = GenericDialect {};
        scan_everywhere(sql)?;
        let tokens = Tokenizer::new(&dialect, sql)
            .tokenize_with_location()
            .map_err(|e| GuardError::Parse(e.to_string()))?;
        scan_tokens(sql, &tokens)?;
        classify_start(&tokens)?;
        let mut statements = Parser::new(&dialect)
            .with_tokens_with_locations(tokens)
            .with_recursion_limit(RECURSION_LIMIT)
            .parse_statements()
            .map_err(|e| match e {
                ParserError::RecursionLimitExceeded => GuardError::TooDeep {
                    max: RECURSION_LIMIT,
                },
                other => GuardError::Parse(other.to_string()),
            })?;
        if statements.len() > 1 {
            return Err(GuardError::MultipleStatements {
                count: statements.len(),
            });
        }
        let Some(statement) = statements.pop() else {
            return Err(GuardError::Empty);
        };
        let mut query = match statement {
            Statement::Query(q) => q,
            other => return Err(refuse_statement(&other.to_string())),
        };
        let mut found = Found::default();
        walk_query(self, &query, &[], &mut found, 0)?;
        let (limit, limit_added) = self.cap_rows(&mut query)?;
        Ok(Checked {
            sql: Statement::Query(query).to_string(),
            relations: found.relations.into_iter().collect(),
            functions: found.functions.into_iter().collect(),
            limit,
            limit_added,
        })
    }

    /// Adds or lowers the outermost LIMIT. Only literals are accepted there,
    /// since an expression (a subquery, a parameter) cannot be compared with
    /// the cap before running.
    fn cap_rows(&self, query: &mut Query) -> Result<(u64, bool), GuardError> {
        let (limit, offset) = match query.limit_clause.take() {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(GuardError::Unsupported("LIMIT ... BY".into()));
                }
                (limit, offset.map(|o| o.value))
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        if let Some(o) = &offset {
            literal_count(o, "OFFSET")?;
        }
        let (rows, added) = match &limit {
            None => (self.row_limit, true),
            Some(e) => {
                let n = literal_count(e, "LIMIT")?;
                if n > self.row_limit {
                    (self.row_limit, true)
                } else {
                    (n, false)
                }
            }
        };
        query.limit_clause = Some(LimitClause::LimitOffset {
            limit: Some(Expr::value(Value::Number(rows.to_string(), false))),
            offset: offset.map(|value| Offset {
                value,
                rows: OffsetRows::None,
            }),
            limit_by: Vec::new(),
        });
        Ok((rows, added))
    }

    fn relation_error(&self, name: &str, quoted: bool) -> GuardError {
        let hint = if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
            format!(
                " (it contains {}, which is not an ASCII letter; relation names are plain ASCII)",
                code_point(c)
            )
        } else if quoted && self.relations.contains(&name.to_ascii_lowercase()) {
            format!(
                " (quoted names are case-sensitive; write {})",
                name.to_ascii_lowercase()
            )
        } else {
            did_you_mean(name, self.relations())
                .map(|k| format!("; did you mean \"{k}\"?"))
                .unwrap_or_default()
        };
        GuardError::UnknownRelation {
            name: name.to_string(),
            hint,
            allowed: self.relations().collect::<Vec<_>>().join(", "),
        }
    }

    fn function_error(&self, name: &str) -> GuardError {
        let hint = did_you_mean(name, self.functions.iter().map(String::as_str))
            .map(|k| format!("; did you mean \"{k}\"?"))
            .unwrap_or_default();
        let common = ["sum", "count", "avg", "min", "max", "round", "coalesce"];
        let extra = self
            .functions
            .iter()
            .map(String::as_str)
            .filter(|f| BUILTIN_FUNCTIONS.binary_search(f).is_err());
        let mut examples = common.iter().copied().chain(extra).collect::<Vec<_>>();
        examples.truncate(14);
        GuardError::UnknownFunction {
            name: name.to_string(),
            hint,
            examples: examples.join(", "),
        }
    }
}

/// What a query touches, gathered while walking it.
#[derive(Default)]
struct Found {
    relations: BTreeSet<String>,
    functions: BTreeSet<String>,
}

/// Walks a query with the CTE names visible to it. Each CTE sees only the
/// CTEs defined before it, as in DataFusion: a name used before its
/// definition resolves to a real relation, so it must pass as one.
/// `nesting` counts the levels above this query, across queries, so the
/// bound holds for the whole tree and not per level.
fn walk_query(
    guard: &Guard,
    query: &Query,
    outer: &[String],
    found: &mut Found,
    nesting: usize,
) -> Result<(), GuardError> {
    if nesting > MAX_NESTING {
        return Err(GuardError::TooDeep { max: MAX_NESTING });
    }
    if query.fetch.is_some() {
        return Err(GuardError::Unsupported("FETCH FIRST".into()));
    }
    if !query.locks.is_empty() {
        return Err(GuardError::Write {
            statement: "SELECT ... FOR UPDATE".into(),
        });
    }
    if query.for_clause.is_some() {
        return Err(GuardError::Unsupported("FOR XML/JSON".into()));
    }
    if query.settings.is_some() {
        return Err(GuardError::Unsupported("SETTINGS".into()));
    }
    if query.format_clause.is_some() {
        return Err(GuardError::Unsupported("FORMAT".into()));
    }
    if !query.pipe_operators.is_empty() {
        return Err(GuardError::Unsupported("the pipe operator |>".into()));
    }
    let mut scope = outer.to_vec();
    if let Some(with) = &query.with {
        if with.recursive {
            return Err(GuardError::Unsupported("WITH RECURSIVE".into()));
        }
        for cte in &with.cte_tables {
            if cte.from.is_some() {
                return Err(GuardError::Unsupported("WITH ... FROM".into()));
            }
            walk_query(guard, &cte.query, &scope, found, nesting + 1)?;
            scope.push(normalize(&cte.alias.name));
        }
    }
    walk_set_expr(guard, &query.body, &scope, found, nesting + 1)?;
    let mut scan = Scan::new(guard, &scope, found, nesting + 1);
    if let ControlFlow::Break(e) = query.order_by.visit(&mut scan) {
        return Err(e);
    }
    if let ControlFlow::Break(e) = query.limit_clause.visit(&mut scan) {
        return Err(e);
    }
    Ok(())
}

fn walk_set_expr(
    guard: &Guard,
    body: &SetExpr,
    scope: &[String],
    found: &mut Found,
    nesting: usize,
) -> Result<(), GuardError> {
    if nesting > MAX_NESTING {
        return Err(GuardError::TooDeep { max: MAX_NESTING });
    }
    match body {
        SetExpr::Select(select) => walk_select(guard, select, scope, found, nesting),
        SetExpr::Query(q) => walk_query(guard, q, scope, found, nesting + 1),
        SetExpr::SetOperation { left, right, .. } => {
            walk_set_expr(guard, left, scope, found, nesting + 1)?;
            walk_set_expr(guard, right, scope, found, nesting + 1)
        }
        SetExpr::Values(values) => {
            match values.visit(&mut Scan::new(guard, scope, found, nesting)) {
                ControlFlow::Break(e) => Err(e),
                ControlFlow::Continue(()) => Ok(()),
            }
        }
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
            Err(refuse_statement(&s.to_string()))
        }
        SetExpr::Table(_) => Err(GuardError::Unsupported(
            "TABLE <name> (write SELECT * FROM <name>)".into(),
        )),
    }
}

fn walk_select(
    guard: &Guard,
    select: &Select,
    scope: &[String],
    found: &mut Found,
    nesting: usize,
) -> Result<(), GuardError> {
    if select.into.is_some() {
        return Err(GuardError::Write {
            statement: "SELECT ... INTO".into(),
        });
    }
    if !select.lateral_views.is_empty() {
        return Err(GuardError::TableFunction {
            name: "LATERAL VIEW".into(),
        });
    }
    let unsupported = [
        (!select.optimizer_hints.is_empty(), "an optimizer hint"),
        (select.select_modifiers.is_some(), "a SELECT modifier"),
        (select.top.is_some(), "TOP (use LIMIT)"),
        (select.prewhere.is_some(), "PREWHERE"),
        (!select.connect_by.is_empty(), "CONNECT BY"),
        (!select.cluster_by.is_empty(), "CLUSTER BY"),
        (!select.distribute_by.is_empty(), "DISTRIBUTE BY"),
        (!select.sort_by.is_empty(), "SORT BY"),
        (select.value_table_mode.is_some(), "SELECT AS VALUE/STRUCT"),
        (
            !matches!(select.flavor, SelectFlavor::Standard),
            "FROM before SELECT",
        ),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(bad, _)| *bad) {
        return Err(GuardError::Unsupported((*what).to_string()));
    }
    match select.visit(&mut Scan::new(guard, scope, found, nesting)) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Checks the expressions and FROM items of one query level. A nested query
/// (derived table, subquery in an expression) is handed to [`walk_query`]
/// with this level's CTE scope and then skipped, so every level is checked
/// exactly once and with the right scope.
struct Scan<'a> {
    guard: &'a Guard,
    scope: &'a [String],
    found: &'a mut Found,
    /// How many nested queries the visitor is inside.
    depth: usize,
    /// How deep the visitor is in the whole tree, queries above included.
    nesting: usize,
    /// Set by a checked table reference, consumed by its relation name; any
    /// other relation name the visitor meets is somewhere the walk does not
    /// know, and is refused.
    relation_expected: bool,
}

impl<'a> Scan<'a> {
    fn new(guard: &'a Guard, scope: &'a [String], found: &'a mut Found, nesting: usize) -> Self {
        Self {
            guard,
            scope,
            found,
            depth: 0,
            nesting,
            relation_expected: false,
        }
    }

    fn table_factor(&mut self, factor: &TableFactor) -> Result<(), GuardError> {
        match factor {
            TableFactor::Table {
                name,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
                alias: _,
            } => {
                if args.is_some() {
                    return Err(GuardError::TableFunction {
                        name: name.to_string(),
                    });
                }
                if !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_hints.is_empty()
                {
                    return Err(GuardError::Unsupported(format!(
                        "a table reference with hints, versions, partitions or sampling ({factor})"
                    )));
                }
                self.relation(name)?;
                self.relation_expected = true;
                Ok(())
            }
            TableFactor::Derived { sample, .. } => match sample {
                Some(_) => Err(GuardError::Unsupported("TABLESAMPLE".into())),
                None => Ok(()),
            },
            TableFactor::NestedJoin { .. } => Ok(()),
            TableFactor::Function { name, .. } => Err(GuardError::TableFunction {
                name: name.to_string(),
            }),
            TableFactor::TableFunction { expr, .. } => Err(GuardError::TableFunction {
                name: expr.to_string(),
            }),
            TableFactor::UNNEST { .. } => Err(GuardError::TableFunction {
                name: "UNNEST".into(),
            }),
            TableFactor::JsonTable { .. } | TableFactor::OpenJsonTable { .. } => {
                Err(GuardError::TableFunction {
                    name: "JSON_TABLE".into(),
                })
            }
            TableFactor::XmlTable { .. } => Err(GuardError::TableFunction {
                name: "XMLTABLE".into(),
            }),
            TableFactor::Pivot { .. } => Err(GuardError::Unsupported("PIVOT".into())),
            TableFactor::Unpivot { .. } => Err(GuardError::Unsupported("UNPIVOT".into())),
            TableFactor::MatchRecognize { .. } => {
                Err(GuardError::Unsupported("MATCH_RECOGNIZE".into()))
            }
            TableFactor::SemanticView { .. } => {
                Err(GuardError::Unsupported("SEMANTIC_VIEW".into()))
            }
        }
    }

    fn relation(&mut self, name: &ObjectName) -> Result<(), GuardError> {
        let ident = single_ident(name, || {
            let last = name
                .0
                .last()
                .and_then(ObjectNamePart::as_ident)
                .map(normalize);
            match last {
                Some(l) if self.guard.relations.contains(&l) => format!("write just {l}"),
                _ => format!(
                    "use one of the bare names {}",
                    self.guard.relations().collect::<Vec<_>>().join(", ")
                ),
            }
        })?;
        let n = normalize(ident);
        if self.scope.contains(&n) {
            return Ok(());
        }
        if self.guard.relations.contains(&n) {
            self.found.relations.insert(n);
            return Ok(());
        }
        Err(self.guard.relation_error(&n, ident.quote_style.is_some()))
    }

    fn function(&mut self, f: &Function) -> Result<(), GuardError> {
        if !matches!(f.parameters, FunctionArguments::None) {
            return Err(GuardError::Unsupported(format!(
                "a parametric function call ({})",
                f.name
            )));
        }
        let ident = single_ident(&f.name, || "call functions by their bare name".into())?;
        let n = normalize(ident);
        if CLOCK_FUNCTIONS.binary_search(&n.as_str()).is_ok() {
            return Err(GuardError::ClockFunction { name: n });
        }
        if self.guard.functions.contains(&n) {
            self.found.functions.insert(n);
            return Ok(());
        }
        Err(self.guard.function_error(&n))
    }
}

impl Visitor for Scan<'_> {
    type Break = GuardError;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<GuardError> {
        if self.depth == 0
            && let Err(e) = walk_query(self.guard, query, self.scope, self.found, self.nesting + 1)
        {
            return ControlFlow::Break(e);
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<GuardError> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<GuardError> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match self.table_factor(factor) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<GuardError> {
        if self.depth > 0 || std::mem::take(&mut self.relation_expected) {
            return ControlFlow::Continue(());
        }
        ControlFlow::Break(GuardError::Unsupported(format!(
            "a reference to \"{name}\" in this position"
        )))
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<GuardError> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return ControlFlow::Break(GuardError::TooDeep { max: MAX_NESTING });
        }
        let checked = match expr {
            Expr::Function(f) => self.function(f),
            Expr::Value(v) => match &v.value {
                Value::Placeholder(p) => Err(GuardError::Unsupported(format!(
                    "the parameter {p} (write the value itself)"
                ))),
                _ => Ok(()),
            },
            _ => Ok(()),
        };
        match checked {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<GuardError> {
        if self.depth == 0 {
            self.nesting = self.nesting.saturating_sub(1);
        }
        ControlFlow::Continue(())
    }
}

/// The one identifier of an unqualified name; `what_to_do` explains the
/// refusal of a qualified one.
fn single_ident(
    name: &ObjectName,
    what_to_do: impl FnOnce() -> String,
) -> Result<&Ident, GuardError> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Ok(ident),
        [_] => Err(GuardError::Unsupported(format!("the computed name {name}"))),
        _ => Err(GuardError::QualifiedName {
            name: name.to_string(),
            what_to_do: what_to_do(),
        }),
    }
}

/// A name as DataFusion resolves it: unquoted names are folded to ASCII
/// lower case, quoted ones are taken as written.
fn normalize(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

fn literal_count(e: &Expr, clause: &str) -> Result<u64, GuardError> {
    let parsed = match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<u64>().ok(),
            _ => None,
        },
        _ => None,
    };
    parsed.ok_or_else(|| GuardError::BadLimit(format!("{clause} {e} is not a plain whole number")))
}

/// The refusal for a statement that is not a query, by its first keyword.
fn refuse_statement(text: &str) -> GuardError {
    let keyword = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("this statement")
        .to_ascii_uppercase();
    if WRITE_KEYWORDS.contains(&keyword.as_str()) {
        GuardError::Write { statement: keyword }
    } else {
        GuardError::NotAQuery { statement: keyword }
    }
}

/// Refuses by the first keyword before parsing, so statements the generic
/// parser does not know (DataFusion's `CREATE EXTERNAL TABLE`, `COPY ... TO`)
/// get the same clear refusal as the ones it does, and splits on top-level
/// semicolons so stacked statements are refused whatever follows them.
fn classify_start(tokens: &[TokenWithSpan]) -> Result<(), GuardError> {
    let mut code = tokens
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF));
    let Some(first) = code.clone().find(|t| !matches!(t, Token::SemiColon)) else {
        return Err(GuardError::Empty);
    };
    let mut count = 0;
    let mut in_statement = false;
    for t in code.by_ref() {
        if matches!(t, Token::SemiColon) {
            in_statement = false;
        } else if !in_statement {
            in_statement = true;
            count += 1;
        }
    }
    if count > 1 {
        return Err(GuardError::MultipleStatements { count });
    }
    match first {
        Token::Word(w) if w.quote_style.is_none() => match w.keyword {
            Keyword::SELECT | Keyword::WITH | Keyword::VALUES => Ok(()),
            _ => Err(refuse_statement(&w.value)),
        },
        _ => Ok(()),
    }
}

/// Characters refused anywhere, string literals included: control
/// characters (NUL and friends) and the bidirectional controls that make
/// SQL read differently from how it parses.
fn scan_everywhere(sql: &str) -> Result<(), GuardError> {
    let (mut line, mut column) = (1u64, 0u64);
    for c in sql.chars() {
        column += 1;
        if let Some(what) = forbidden_everywhere(c) {
            return Err(forbidden(c, what, "anywhere in the SQL", line, column));
        }
        if c == '\n' {
            line += 1;
            column = 0;
        }
    }
    Ok(())
}

/// Characters refused outside string literals and comments: invisible and
/// formatting characters, unusual spaces and non-ASCII punctuation (a
/// full-width semicolon, a Greek question mark). Unquoted code keeps to
/// ASCII and letters or digits; quoted identifiers may hold symbols but
/// nothing invisible.
fn scan_tokens(sql: &str, tokens: &[TokenWithSpan]) -> Result<(), GuardError> {
    // Spaces of every kind become the same token, so the source says which
    // one it was; the tokenizer counts lines at '\n' and columns in chars.
    let mut lines: Option<Vec<Vec<char>>> = None;
    for t in tokens {
        let (text, quoted) = match &t.token {
            Token::Whitespace(Whitespace::SingleLineComment { .. })
            | Token::Whitespace(Whitespace::MultiLineComment(_)) => continue,
            Token::Whitespace(Whitespace::Space) => {
                let lines = lines
                    .get_or_insert_with(|| sql.split('\n').map(|l| l.chars().collect()).collect());
                let at = usize::try_from(t.span.start.line)
                    .ok()
                    .zip(usize::try_from(t.span.start.column).ok())
                    .and_then(|(l, c)| lines.get(l.checked_sub(1)?)?.get(c.checked_sub(1)?));
                (at.map(char::to_string).unwrap_or_default(), false)
            }
            Token::Word(w) => (w.value.clone(), w.quote_style.is_some()),
            other if is_string_literal(other) => continue,
            other => (other.to_string(), false),
        };
        for c in text.chars().filter(|c| !c.is_ascii()) {
            let what = if let Some(what) = invisible(c) {
                Some(what)
            } else if quoted || c.is_alphanumeric() {
                None
            } else {
                Some("non-ASCII punctuation or symbol")
            };
            if let Some(what) = what {
                let place = "outside string literals";
                return Err(forbidden(
                    c,
                    what,
                    place,
                    t.span.start.line,
                    t.span.start.column,
                ));
            }
        }
    }
    Ok(())
}

fn is_string_literal(t: &Token) -> bool {
    matches!(
        t,
        Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
    )
}

fn forbidden_everywhere(c: char) -> Option<&'static str> {
    match c {
        '\t' | '\n' | '\r' => None,
        '\0' => Some("NUL"),
        '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Some("a control character"),
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some("a bidirectional text control")
        }
        '\u{2028}' | '\u{2029}' => {
            Some("a line or paragraph separator that looks like a line break")
        }
        _ => None,
    }
}

/// Characters that print as nothing or as a space: Unicode's format
/// characters (category Cf), variation selectors, Hangul fillers and
/// spaces other than ASCII ones.
fn invisible(c: char) -> Option<&'static str> {
    match c {
        '\u{200b}' => Some("zero-width space"),
        '\u{200c}' => Some("zero-width non-joiner"),
        '\u{200d}' => Some("zero-width joiner"),
        '\u{2060}' => Some("word joiner"),
        '\u{feff}' => Some("zero-width no-break space (byte order mark)"),
        '\u{ad}'
        | '\u{600}'..='\u{605}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{180e}'
        | '\u{2061}'..='\u{2064}'
        | '\u{206a}'..='\u{206f}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}' => Some("an invisible formatting character"),
        '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}' => Some("a variation selector"),
        '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' => Some("a Hangul filler"),
        c if c.is_whitespace() => Some("a non-ASCII space"),
        _ => None,
    }
}

fn forbidden(
    c: char,
    what: &'static str,
    place: &'static str,
    line: u64,
    column: u64,
) -> GuardError {
    GuardError::ForbiddenCharacter {
        code_point: code_point(c),
        what,
        place,
        line,
        column,
    }
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use super::*;

    fn guard() -> Guard {
        Guard::new(
            ["installs", "campaigns", "events", "user_metrics"].map(String::from),
            ["fraud_score", "churn_risk"].map(String::from),
            100,
        )
    }

    fn ok(sql: &str) -> Checked {
        guard()
            .check(sql)
            .unwrap_or_else(|e| panic!("{sql:?} is refused: {e}"))
    }

    fn code(sql: &str) -> &'static str {
        match guard().check(sql) {
            Ok(c) => panic!("{sql:?} passes as {:?}", c.sql),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                e.code()
            }
        }
    }

    #[test]
    fn lists_are_sorted_for_binary_search() {
        for list in [BUILTIN_FUNCTIONS, CLOCK_FUNCTIONS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    #[test]
    fn a_plain_query_gets_the_row_limit() {
        let c = ok("select * from installs");
        assert_eq!(c.sql, "SELECT * FROM installs LIMIT 100");
        assert_eq!(c.relations, ["installs"]);
        assert_eq!((c.limit, c.limit_added), (100, true));
    }

    #[test]
    fn a_lower_limit_is_kept_and_a_higher_one_clamped() {
        let c = ok("SELECT * FROM installs LIMIT 10 OFFSET 5");
        assert_eq!(c.sql, "SELECT * FROM installs LIMIT 10 OFFSET 5");
        assert_eq!((c.limit, c.limit_added), (10, false));
        let c = ok("SELECT * FROM installs LIMIT 5000");
        assert_eq!(c.sql, "SELECT * FROM installs LIMIT 100");
        assert_eq!((c.limit, c.limit_added), (100, true));
        let c = ok("SELECT * FROM installs LIMIT 5, 10");
        assert_eq!(c.sql, "SELECT * FROM installs LIMIT 10 OFFSET 5");
        let c = ok("SELECT * FROM installs LIMIT ALL");
        assert_eq!((c.limit, c.limit_added), (100, true));
        let c = ok("SELECT 1 FROM installs UNION ALL SELECT 2 FROM campaigns LIMIT 1000");
        assert!(c.sql.ends_with("LIMIT 100"), "{}", c.sql);
        // Only the outermost query is capped; inner limits are the query's own.
        let c = ok("SELECT * FROM (SELECT * FROM installs LIMIT 5000) AS i");
        assert_eq!(
            c.sql,
            "SELECT * FROM (SELECT * FROM installs LIMIT 5000) AS i LIMIT 100"
        );
    }

    #[test]
    fn limits_must_be_plain_numbers() {
        for sql in [
            "SELECT * FROM installs LIMIT 1 + 1",
            "SELECT * FROM installs LIMIT (SELECT 5)",
            "SELECT * FROM installs LIMIT -1",
            "SELECT * FROM installs LIMIT 2.5",
            "SELECT * FROM installs LIMIT 99999999999999999999999",
            "SELECT * FROM installs LIMIT 10 OFFSET -5",
            "SELECT * FROM installs LIMIT NULL",
            "SELECT * FROM installs LIMIT '10'",
        ] {
            assert_eq!(code(sql), "bad_limit", "{sql}");
        }
        assert_eq!(
            code("SELECT * FROM installs LIMIT $1"),
            "unsupported",
            "a parameter is refused before the limit is read"
        );
    }

    #[test]
    fn cte_names_and_aliases_are_fine() {
        let c = ok(
            "WITH recent AS (SELECT * FROM installs), c AS (SELECT * FROM recent) \
             SELECT r.user_id, x.name FROM c AS r JOIN campaigns x ON r.campaign_id = x.campaign_id",
        );
        assert_eq!(c.relations, ["campaigns", "installs"]);
        let c = ok("SELECT t.n FROM (SELECT count(*) AS n FROM events) AS t");
        assert_eq!(c.relations, ["events"]);
        assert_eq!(c.functions, ["count"]);
        // Unquoted names fold to lower case, as in the engine.
        assert_eq!(ok("SELECT * FROM INSTALLS").relations, ["installs"]);
        assert_eq!(ok("SELECT * FROM \"installs\"").relations, ["installs"]);
    }

    #[test]
    fn cte_names_are_only_visible_where_they_are_defined() {
        // Used before its definition: the engine would read a table "b".
        assert_eq!(
            code("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM installs) SELECT * FROM a"),
            "unknown_relation"
        );
        // Defined in a subquery, used outside it.
        assert_eq!(
            code("SELECT * FROM (WITH s AS (SELECT 1) SELECT * FROM s) AS t JOIN s ON true"),
            "unknown_relation"
        );
        // A CTE does not see itself without RECURSIVE.
        assert_eq!(
            code("WITH secret AS (SELECT * FROM secret) SELECT * FROM secret"),
            "unknown_relation"
        );
        assert_eq!(
            code(
                "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM r"
            ),
            "unsupported"
        );
    }

    #[test]
    fn quoted_names_are_case_sensitive() {
        let e = guard().check("SELECT * FROM \"Installs\"").err();
        assert_eq!(e.as_ref().map(GuardError::code), Some("unknown_relation"));
        assert!(
            e.is_some_and(|e| e.to_string().contains("write installs")),
            "the message says how to fix it"
        );
    }

    #[test]
    fn only_one_read_only_query() {
        for (sql, want) in [
            ("", "empty"),
            ("   \n\t ", "empty"),
            ("-- nothing\n/* at all */", "empty"),
            (";", "empty"),
            ("SELECT 1; DROP TABLE installs", "multiple_statements"),
            ("SELECT 1;;SELECT 2", "multiple_statements"),
            (
                "SELECT 1 -- x\n; DELETE FROM installs",
                "multiple_statements",
            ),
            ("DROP TABLE installs", "write"),
            ("CREATE TABLE t AS SELECT * FROM installs", "write"),
            (
                "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
                "write",
            ),
            ("CREATE VIEW v AS SELECT 1", "write"),
            ("ALTER TABLE installs ADD COLUMN x INT", "write"),
            ("TRUNCATE installs", "write"),
            ("INSERT INTO installs VALUES (1)", "write"),
            ("UPDATE installs SET user_id = 1", "write"),
            ("DELETE FROM installs", "write"),
            (
                "MERGE INTO installs USING campaigns ON true WHEN MATCHED THEN DELETE",
                "write",
            ),
            ("COPY installs TO '/tmp/x.csv'", "write"),
            ("ATTACH DATABASE 'x.db' AS x", "write"),
            ("SELECT * INTO copy FROM installs", "write"),
            (
                "WITH x AS (SELECT 1) INSERT INTO installs SELECT * FROM x",
                "write",
            ),
            ("SELECT * FROM installs FOR UPDATE", "write"),
            ("SET datafusion.execution.batch_size = 1", "not_a_query"),
            ("RESET datafusion.execution.batch_size", "not_a_query"),
            ("SHOW TABLES", "not_a_query"),
            ("EXPLAIN SELECT * FROM installs", "not_a_query"),
            ("DESCRIBE installs", "not_a_query"),
            ("PREPARE p AS SELECT 1", "not_a_query"),
            ("EXECUTE p", "not_a_query"),
            ("BEGIN", "not_a_query"),
            ("COMMIT", "not_a_query"),
            ("SELEC * FROM installs", "not_a_query"),
            ("SELECT * FROM", "parse"),
        ] {
            assert_eq!(code(sql), want, "{sql}");
        }
        // One trailing semicolon is one statement.
        assert!(guard().check("SELECT 1;").is_ok());
    }

    #[test]
    fn every_relation_is_checked_wherever_it_hides() {
        for sql in [
            "SELECT * FROM secret",
            "SELECT * FROM installs WHERE user_id IN (SELECT user_id FROM secret)",
            "SELECT * FROM installs WHERE EXISTS (SELECT 1 FROM secret)",
            "SELECT (SELECT max(x) FROM secret) FROM installs",
            "SELECT count(*) FROM installs HAVING count(*) > (SELECT count(*) FROM secret)",
            "SELECT * FROM installs i JOIN campaigns c ON c.id IN (SELECT id FROM secret)",
            "SELECT * FROM installs ORDER BY (SELECT 1 FROM secret)",
            "SELECT 1 FROM installs UNION (SELECT 1 FROM campaigns EXCEPT SELECT 1 FROM secret)",
            "SELECT * FROM installs, LATERAL (SELECT * FROM secret) s",
            "SELECT CASE WHEN true THEN (SELECT 1 FROM secret) END FROM installs",
            "SELECT coalesce((SELECT 1 FROM secret), 0)",
            "WITH a AS (SELECT * FROM (SELECT * FROM secret) x) SELECT * FROM a",
            "SELECT * FROM (installs JOIN (campaigns JOIN secret ON true) ON true)",
            "SELECT * FROM installs WHERE x > ALL (SELECT y FROM secret)",
            "VALUES ((SELECT 1 FROM secret))",
            "SELECT * FROM installs LIMIT 1 OFFSET (SELECT 1 FROM secret)",
            "SELECT sum(x) FILTER (WHERE x IN (SELECT 1 FROM secret)) FROM installs",
        ] {
            assert_eq!(code(sql), "unknown_relation", "{sql}");
        }
    }

    #[test]
    fn qualified_names_are_refused_with_the_bare_name() {
        for sql in [
            "SELECT * FROM information_schema.tables",
            "SELECT * FROM datafusion.public.installs",
            "SELECT * FROM public.installs",
            "SELECT * FROM installs WHERE user_id IN (SELECT user_id FROM public.secret)",
            "SELECT pg_catalog.now()",
        ] {
            assert_eq!(code(sql), "qualified_name", "{sql}");
        }
        let e = guard().check("SELECT * FROM public.installs").err();
        assert!(e.is_some_and(|e| e.to_string().contains("write just installs")));
    }

    #[test]
    fn table_functions_are_refused() {
        for sql in [
            "SELECT * FROM generate_series(1, 10)",
            "SELECT * FROM range(10)",
            "SELECT * FROM read_parquet('/etc/passwd')",
            "SELECT * FROM read_csv('x.csv')",
            "SELECT * FROM UNNEST([1, 2])",
            "SELECT * FROM installs, installs(1)",
            "SELECT * FROM installs JOIN read_parquet('x') ON true",
        ] {
            assert_eq!(code(sql), "table_function", "{sql}");
        }
    }

    #[test]
    fn functions_come_from_the_allowlist() {
        let c = ok(
            "SELECT date_trunc('month', install_time) AS m, round(avg(fraud_score(a, b)), 2), \
             row_number() OVER (PARTITION BY m ORDER BY m), COUNT(DISTINCT user_id), \
             EXTRACT(year FROM install_time), CAST(x AS DOUBLE), churn_risk(1) \
             FROM installs GROUP BY 1",
        );
        assert_eq!(
            c.functions,
            [
                "avg",
                "churn_risk",
                "count",
                "date_trunc",
                "fraud_score",
                "round",
                "row_number"
            ]
        );
        assert_eq!(
            code("SELECT pg_read_file('/etc/passwd')"),
            "unknown_function"
        );
        assert_eq!(code("SELECT random() FROM installs"), "unknown_function");
        assert_eq!(code("SELECT \"SUM\"(x) FROM installs"), "unknown_function");
        let e = guard().check("SELECT sume(x) FROM installs").err();
        assert!(
            e.is_some_and(|e| {
                let m = e.to_string();
                m.contains("\"sume\"")
                    && m.contains("did you mean \"sum\"")
                    && m.contains("fraud_score")
            }),
            "names the function, a close match and allowed ones"
        );
        for sql in [
            "SELECT now()",
            "SELECT * FROM installs WHERE install_time > CURRENT_DATE - INTERVAL '7' DAY",
            "SELECT current_timestamp",
        ] {
            assert_eq!(code(sql), "clock_function", "{sql}");
        }
    }

    #[test]
    fn comments_are_stripped() {
        let c = ok("SELECT /* note */ user_id -- trailing\nFROM installs");
        assert_eq!(c.sql, "SELECT user_id FROM installs LIMIT 100");
    }

    #[test]
    fn invisible_and_lookalike_characters_are_refused() {
        for (sql, want) in [
            ("SELECT * FROM inst\u{200b}alls", "forbidden_character"),
            ("SELECT * FROM installs\u{200d}", "forbidden_character"),
            ("SELECT * FROM \"inst\u{200c}alls\"", "forbidden_character"),
            (
                "SELECT * FROM installs\u{ff1b} DROP TABLE installs",
                "forbidden_character",
            ),
            (
                "SELECT * FROM installs\u{37e} DROP TABLE installs",
                "forbidden_character",
            ),
            (
                "SELECT * FROM installs WHERE x = '\u{202e}abc'",
                "forbidden_character",
            ),
            ("SELECT 1\u{0}; DROP TABLE installs", "forbidden_character"),
            ("SELECT\u{a0}* FROM installs", "forbidden_character"),
            ("\u{feff}SELECT * FROM installs", "forbidden_character"),
            ("SELECT * FROM inst\u{430}lls", "unknown_relation"),
            ("SELECT * FROM ｉｎｓｔａｌｌｓ", "unknown_relation"),
        ] {
            assert_eq!(code(sql), want, "{sql:?}");
        }
        let e = guard().check("SELECT * FROM inst\u{430}lls").err();
        assert!(e.is_some_and(|e| e.to_string().contains("U+0430")));
    }

    #[test]
    fn string_literals_and_aliases_may_hold_any_printable_text() {
        let c = ok(
            "SELECT user_id AS \"Nutzer (€)\", 'Côte d\u{2019}Ivoire 👩\u{200d}💻' AS z \
             FROM installs WHERE country = '日本' -- coût",
        );
        assert!(c.sql.contains("'日本'"), "{}", c.sql);
    }

    #[test]
    fn size_and_depth_are_bounded() {
        let long = format!("SELECT 1 FROM installs WHERE {}", "1 = 1 AND ".repeat(3000));
        assert_eq!(code(&long), "too_long");
        let nested = format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(code(&nested), "too_deep");
        let subqueries = format!(
            "SELECT * FROM {}installs{}",
            "(SELECT * FROM ".repeat(100),
            ") AS t".repeat(100)
        );
        assert_eq!(code(&subqueries), "too_deep");
        // Chains the parser builds in a loop rather than by recursion.
        let chain = format!("SELECT 1{} FROM installs", " + 1".repeat(4000));
        assert_eq!(code(&chain), "too_deep");
        let unions = format!("SELECT 1{}", " UNION SELECT 1".repeat(1000));
        assert_eq!(code(&unions), "too_deep");
        let chain = format!("SELECT 1{} FROM installs", " + 1".repeat(200));
        assert!(guard().check(&chain).is_ok());
    }

    /// The longest inputs of every shape that nests, on a thread with the
    /// stack a Tokio worker gets: refused or accepted, never overflowing.
    #[test]
    fn worst_case_shapes_fit_in_a_worker_stack() {
        let fill = |unit: &str, head: &str, tail: &str| {
            let n = (MAX_SQL_CHARS - head.len() - tail.len()) / unit.len();
            format!("{head}{}{tail}", unit.repeat(n))
        };
        let shapes = [
            fill("+1", "SELECT 1", " FROM installs"),
            fill("=1", "SELECT 1", ""),
            fill("||'a'", "SELECT 'a'", ""),
            fill(" IS NULL", "SELECT 1", ""),
            fill("::INT", "SELECT 1", ""),
            fill("[1]", "SELECT x", " FROM installs"),
            fill("->'a'", "SELECT x", " FROM installs"),
            fill(".a", "SELECT x", " FROM installs"),
            fill(" AND true", "SELECT 1 FROM installs WHERE true", ""),
            fill(" UNION SELECT 1", "SELECT 1", ""),
            fill(" JOIN installs ON true", "SELECT 1 FROM installs", ""),
            fill("(", "SELECT ", ""),
            fill("ARRAY<", "SELECT CAST(x AS ", ""),
            fill("CASE WHEN ", "SELECT ", ""),
            fill("(SELECT ", "SELECT ", ""),
            fill("NOT ", "SELECT ", "true"),
            fill("- ", "SELECT ", "1"),
            fill("sum(", "SELECT ", ""),
            fill("x IN (", "SELECT ", ""),
            fill(",1", "SELECT 1", ""),
        ];
        let g = guard();
        let outcomes = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                shapes
                    .iter()
                    .map(|sql| g.check(sql).map(|c| c.limit).map_err(|e| e.code()))
                    .collect::<Vec<_>>()
            })
            .expect("thread")
            .join()
            .expect("no check panics");
        for outcome in outcomes {
            assert!(
                matches!(outcome, Ok(100) | Err("too_deep" | "parse")),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            GuardError::Empty,
            GuardError::TooLong { chars: 0, max: 0 },
            GuardError::ForbiddenCharacter {
                code_point: String::new(),
                what: "",
                place: "",
                line: 0,
                column: 0,
            },
            GuardError::Parse(String::new()),
            GuardError::TooDeep { max: 0 },
            GuardError::MultipleStatements { count: 0 },
            GuardError::NotAQuery {
                statement: String::new(),
            },
            GuardError::Write {
                statement: String::new(),
            },
            GuardError::UnknownRelation {
                name: String::new(),
                hint: String::new(),
                allowed: String::new(),
            },
            GuardError::QualifiedName {
                name: String::new(),
                what_to_do: String::new(),
            },
            GuardError::TableFunction {
                name: String::new(),
            },
            GuardError::UnknownFunction {
                name: String::new(),
                hint: String::new(),
                examples: String::new(),
            },
            GuardError::ClockFunction {
                name: String::new(),
            },
            GuardError::BadLimit(String::new()),
            GuardError::Unsupported(String::new()),
            GuardError::Unstable,
        ];
        let codes: BTreeSet<&str> = all.iter().map(GuardError::code).collect();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn from_model_reads_table_entities() {
        let model = quarry_schema::demo_model::load().expect("demo model");
        let g = Guard::from_model(&model, ["Extra".to_string()], [], 10);
        let names: Vec<&str> = g.relations().collect();
        assert!(
            names.contains(&"installs") && names.contains(&"extra"),
            "{names:?}"
        );
        assert!(names.contains(&"user_activity"), "{names:?}");
        assert!(
            !names.contains(&"install_features"),
            "tables no entity reads are not relations"
        );
    }
}
