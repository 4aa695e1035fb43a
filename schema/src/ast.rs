//! Small constructors for sqlparser's AST. The compiler assembles statements
//! from these; user values only ever enter as literal nodes, never as text.
//! Structures with many dialect-specific fields (a SELECT, a query, a table
//! reference) are taken from fixed skeleton SQL and then filled in, which
//! keeps this file stable across sqlparser's field additions.

use chrono::NaiveDate;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, Cte, DataType, DuplicateTreatment, ExactNumberInfo, Expr, Function,
    FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, GroupByExpr, Ident,
    Join, JoinConstraint, JoinOperator, ObjectName, OrderBy, OrderByExpr, OrderByKind,
    OrderByOptions, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement,
    TableAlias, TableFactor, TableWithJoins, TimezoneInfo, Value, With,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;
use datafusion::sql::sqlparser::parser::Parser;

/// Parses fixed SQL written in this file. Its text never contains user input,
/// so a failure is a bug in this file, caught by the unit tests below.
fn skeleton_query(sql: &str) -> Query {
    match Parser::parse_sql(&GenericDialect {}, sql).map(|mut v| v.pop()) {
        Ok(Some(Statement::Query(q))) => *q,
        other => unreachable!("skeleton SQL {sql:?} must parse to a query: {other:?}"),
    }
}

pub fn fixed_expr(sql: &str) -> Expr {
    match Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
    {
        Ok(e) => e,
        Err(e) => unreachable!("skeleton expression {sql:?} must parse: {e}"),
    }
}

/// An identifier, quoted when it is not a plain lower-case name or when it
/// collides with a keyword (`date`, `week`), so printed SQL parses back.
pub fn ident(name: &str) -> Ident {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let upper = name.to_ascii_uppercase();
    if plain && ALL_KEYWORDS.binary_search(&upper.as_str()).is_err() {
        Ident::new(name)
    } else {
        Ident::with_quote('"', name)
    }
}

pub fn col(qualifier: &str, name: &str) -> Expr {
    Expr::CompoundIdentifier(vec![ident(qualifier), ident(name)])
}

pub fn string(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

pub fn number(s: impl ToString) -> Expr {
    Expr::value(Value::Number(s.to_string(), false))
}

pub fn boolean(b: bool) -> Expr {
    Expr::value(Value::Boolean(b))
}

pub fn null() -> Expr {
    Expr::value(Value::Null)
}

pub fn cast(e: Expr, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(e),
        data_type,
        array: false,
        format: None,
    }
}

pub fn date(d: NaiveDate) -> Expr {
    cast(string(&d.format("%Y-%m-%d").to_string()), DataType::Date)
}

pub fn timestamp(d: NaiveDate) -> Expr {
    cast(
        string(&format!("{} 00:00:00", d.format("%Y-%m-%d"))),
        DataType::Timestamp(None, TimezoneInfo::None),
    )
}

pub fn double(e: Expr) -> Expr {
    cast(e, DataType::Double(ExactNumberInfo::None))
}

pub fn binop(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

pub fn nested(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}

pub fn and_all(mut parts: Vec<Expr>) -> Option<Expr> {
    let first = if parts.is_empty() {
        return None;
    } else {
        parts.remove(0)
    };
    Some(
        parts
            .into_iter()
            .fold(first, |acc, p| binop(acc, BinaryOperator::And, p)),
    )
}

pub fn func(name: &str, args: Vec<Expr>) -> Expr {
    func_full(name, args, false, None)
}

/// A function call, optionally `DISTINCT` and with an aggregate `FILTER`.
pub fn func_full(name: &str, args: Vec<Expr>, distinct: bool, filter: Option<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: distinct.then_some(DuplicateTreatment::Distinct),
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: filter.map(Box::new),
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// `count(*)`, optionally filtered.
pub fn count_star(filter: Option<Expr>) -> Expr {
    let mut e = fixed_expr("count(*)");
    if let Expr::Function(f) = &mut e {
        f.filter = filter.map(Box::new);
    }
    e
}

pub fn item(expr: Expr, alias: &str) -> SelectItem {
    SelectItem::ExprWithAlias {
        expr,
        alias: ident(alias),
    }
}

fn alias(name: &str) -> TableAlias {
    TableAlias {
        explicit: true,
        name: ident(name),
        columns: Vec::new(),
        at: None,
    }
}

/// `table AS alias`.
pub fn table(name: &str, alias_name: &str) -> TableFactor {
    let q = skeleton_query("SELECT 1 FROM t AS a");
    let mut factor = match *q.body {
        SetExpr::Select(s) => s.from.into_iter().next().map(|f| f.relation),
        _ => None,
    }
    .unwrap_or_else(|| unreachable!("skeleton has a table"));
    if let TableFactor::Table {
        name: n, alias: a, ..
    } = &mut factor
    {
        *n = ObjectName::from(vec![ident(name)]);
        *a = Some(alias(alias_name));
    }
    factor
}

/// `(subquery) AS alias`.
pub fn derived(subquery: Query, alias_name: &str) -> TableFactor {
    TableFactor::Derived {
        lateral: false,
        subquery: Box::new(subquery),
        alias: Some(alias(alias_name)),
        sample: None,
    }
}

pub fn left_join(relation: TableFactor, on: Expr) -> Join {
    Join {
        relation,
        global: false,
        join_operator: JoinOperator::LeftOuter(JoinConstraint::On(on)),
    }
}

pub fn cross_join(relation: TableFactor) -> Join {
    Join {
        relation,
        global: false,
        join_operator: JoinOperator::CrossJoin(JoinConstraint::None),
    }
}

/// An empty `SELECT` to fill in.
pub fn select() -> Select {
    match *skeleton_query("SELECT 1").body {
        SetExpr::Select(mut s) => {
            s.projection.clear();
            *s
        }
        _ => unreachable!("skeleton is a SELECT"),
    }
}

pub fn from(relation: TableFactor, joins: Vec<Join>) -> TableWithJoins {
    TableWithJoins { relation, joins }
}

pub fn group_by(exprs: Vec<Expr>) -> GroupByExpr {
    GroupByExpr::Expressions(exprs, Vec::new())
}

/// A query whose body is the given SELECT.
pub fn query(body: SetExpr) -> Query {
    let mut q = skeleton_query("SELECT 1");
    q.body = Box::new(body);
    q
}

pub fn union_distinct(left: SetExpr, right: SetExpr) -> SetExpr {
    SetExpr::SetOperation {
        left: Box::new(left),
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::None,
        right: Box::new(right),
    }
}

pub fn with(ctes: Vec<(String, Query)>) -> With {
    let q = skeleton_query("WITH a AS (SELECT 1) SELECT 1");
    let mut w = q.with.unwrap_or_else(|| unreachable!("skeleton has WITH"));
    let template: Cte = w.cte_tables.remove(0);
    w.cte_tables = ctes
        .into_iter()
        .map(|(name, query)| {
            let mut c = template.clone();
            // A CTE's name prints without `AS`: `name AS (query)`.
            c.alias = TableAlias {
                explicit: false,
                ..alias(&name)
            };
            c.query = Box::new(query);
            c
        })
        .collect();
    w
}

pub fn order_by(items: Vec<(Expr, bool)>) -> Option<OrderBy> {
    if items.is_empty() {
        return None;
    }
    Some(OrderBy {
        kind: OrderByKind::Expressions(
            items
                .into_iter()
                .map(|(expr, desc)| OrderByExpr {
                    expr,
                    // Missing values never head a ranking.
                    options: OrderByOptions {
                        asc: Some(!desc),
                        nulls_first: Some(false),
                    },
                    with_fill: None,
                })
                .collect(),
        ),
        interpolate: None,
    })
}

pub fn limit(q: &mut Query, n: u64) {
    let mut template = skeleton_query("SELECT 1 LIMIT 1");
    if let Some(datafusion::sql::sqlparser::ast::LimitClause::LimitOffset { limit, .. }) =
        &mut template.limit_clause
    {
        *limit = Some(number(n));
    }
    q.limit_clause = template.limit_clause;
}

/// `INTERVAL 'n unit'`.
pub fn interval(n: i64, unit: &str) -> Expr {
    let mut e = fixed_expr("INTERVAL '1 day'");
    if let Expr::Interval(i) = &mut e {
        *i.value = string(&format!("{n} {unit}"));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons_build_and_print() {
        let mut s = select();
        s.projection.push(item(col("t", "date"), "week"));
        s.from.push(from(table("ad_spend", "ad_spend"), Vec::new()));
        let mut q = query(SetExpr::Select(Box::new(s)));
        q.order_by = order_by(vec![(col("t", "x"), true)]);
        limit(&mut q, 5);
        assert_eq!(
            q.to_string(),
            "SELECT t.\"date\" AS \"week\" FROM ad_spend AS ad_spend ORDER BY t.x DESC NULLS LAST LIMIT 5"
        );
        assert_eq!(interval(3, "month").to_string(), "INTERVAL '3 month'");
        assert_eq!(
            count_star(Some(boolean(true))).to_string(),
            "count(*) FILTER (WHERE true)"
        );
        assert_eq!(ident("Mixed Case").to_string(), "\"Mixed Case\"");
        let w = with(vec![(
            "f0".into(),
            query(SetExpr::Select(Box::new(select()))),
        )]);
        assert!(w.to_string().starts_with("WITH f0 AS ("));
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(string("O'Brien").to_string(), "'O''Brien'");
    }
}
