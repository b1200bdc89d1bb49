//! Statements of fixed text that PostgreSQL prepares once per connection.
//!
//! diesel prepares and keeps a statement only when its type says what SQL it is
//! (`QueryId::HAS_STATIC_QUERY_ID`); `sql_query` never says so, so PostgreSQL parsed,
//! analysed and planned every group's claim, answers and order updates afresh — a tenth of
//! its CPU under load (docs/benchmarks.md). A [`Prepared`] statement is named by a marker
//! type carrying its text, so diesel keeps it in the connection's statement cache and
//! PostgreSQL plans it once, then reuses the plan.
//!
//! Use it for text that never changes between calls (arrays, not value lists, for a
//! varying number of rows); `$n` in the text is the `n`th bind. The text holds no `$` but
//! its placeholders (no dollar-quoted strings).

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A statement's text; one marker type per statement (see [`statement!`]).
pub(crate) trait StatementText: 'static {
    const SQL: &'static str;
}

/// Declares a marker type for one statement's text.
macro_rules! statement {
    ($(#[$meta:meta])* $name:ident = $sql:expr) => {
        $(#[$meta])*
        pub(crate) struct $name;
        impl $crate::prepared::StatementText for $name {
            const SQL: &'static str = $sql;
        }
    };
}
pub(crate) use statement;

trait Bind<'a> {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>
    where
        'a: 'b;
}

struct Value<'a, ST, T: ?Sized>(&'a T, PhantomData<fn() -> ST>);

impl<'a, ST, T> Bind<'a> for Value<'a, ST, T>
where
    T: ToSql<ST, Pg> + ?Sized,
    Pg: HasSqlType<ST>,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>
    where
        'a: 'b,
    {
        out.push_bind_param::<ST, T>(self.0)
    }
}

/// [`StatementText`] `S` with its binds; run it with diesel's `execute`, `load` or
/// `get_result` (rows as `QueryableByName`).
pub(crate) struct Prepared<'a, S> {
    binds: Vec<Box<dyn Bind<'a> + 'a>>,
    statement: PhantomData<fn() -> S>,
}

impl<'a, S: StatementText> Prepared<'a, S> {
    pub(crate) fn new() -> Self {
        Prepared {
            binds: Vec::new(),
            statement: PhantomData,
        }
    }

    /// The next `$n`, as SQL type `ST`.
    pub(crate) fn bind<ST: 'static, T>(mut self, value: &'a T) -> Self
    where
        T: ToSql<ST, Pg> + ?Sized,
        Pg: HasSqlType<ST>,
    {
        self.binds.push(Box::new(Value::<ST, T>(value, PhantomData)));
        self
    }
}

/// diesel writes each bind's placeholder itself (numbered in the order they are pushed), so
/// the text is pushed piece by piece, with the bind `$n` names at each `$n`.
impl<S: StatementText> QueryFragment<Pg> for Prepared<'_, S> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut rest = S::SQL;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - at - 1);
            let bind = rest[at + 1..at + 1 + digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| self.binds.get(n.checked_sub(1)?))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("a placeholder of `{}` has no bind", S::SQL).into(),
                    )
                })?;
            bind.push(&mut out)?;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

/// The marker type names the text, and the text fixes the binds' types: that is the
/// cache key diesel needs.
impl<S: StatementText> QueryId for Prepared<'_, S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: StatementText> Query for Prepared<'_, S> {
    type SqlType = Untyped;
}

impl<S: StatementText, Conn> RunQueryDsl<Conn> for Prepared<'_, S> {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use diesel::debug_query;
    use diesel::sql_types::{Array, Integer, Text};

    statement!(Sample = "SELECT $1::int4 + cardinality($2::text[]) AS n");

    #[test]
    fn pushes_the_text_and_binds_in_order() {
        let words = vec!["a".to_owned(), "b".to_owned()];
        let query = Prepared::<Sample>::new()
            .bind::<Integer, _>(&40)
            .bind::<Array<Text>, _>(&words);
        let shown = debug_query::<Pg, _>(&query).to_string();
        assert_eq!(
            shown,
            r#"SELECT $1::int4 + cardinality($2::text[]) AS n -- binds: [40, ["a", "b"]]"#
        );
    }

    statement!(Reused = "SELECT $2::int4 - $1::int4 + $2::int4 AS n");
    statement!(Unbound = "SELECT $1::int4 + $2::int4 AS n");

    #[test]
    fn a_placeholder_may_come_twice_or_out_of_order_but_never_unbound() {
        let query = Prepared::<Reused>::new()
            .bind::<Integer, _>(&1)
            .bind::<Integer, _>(&5);
        assert_eq!(
            debug_query::<Pg, _>(&query).to_string(),
            "SELECT $1::int4 - $2::int4 + $3::int4 AS n -- binds: [5, 1, 5]"
        );
        let unbound = Prepared::<Unbound>::new().bind::<Integer, _>(&1);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        assert!(QueryFragment::<Pg>::to_sql(&unbound, &mut builder, &Pg).is_err());
    }

    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = Integer)]
        n: i32,
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }

    fn prepared_like(conn: &mut diesel::PgConnection, text: &str) -> i64 {
        diesel::sql_query("SELECT count(*) AS count FROM pg_prepared_statements WHERE statement = $1")
            .bind::<Text, _>(text)
            .get_result::<Count>(conn)
            .unwrap()
            .count
    }

    #[test]
    fn the_server_prepares_it_once_per_connection() {
        use diesel::Connection;
        let db = pos_testkit::TestDb::new();
        let mut conn = diesel::PgConnection::establish(db.url()).unwrap();
        for (k, words) in [vec![], vec!["x".to_owned()], vec!["x".to_owned(), "y".to_owned()]]
            .iter()
            .enumerate()
        {
            let n = i32::try_from(k).unwrap();
            let row: N = Prepared::<Sample>::new()
                .bind::<Integer, _>(&n)
                .bind::<Array<Text>, _>(words)
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(row.n, 2 * n);
        }
        assert_eq!(
            prepared_like(&mut conn, Sample::SQL),
            1,
            "one named statement, reused"
        );
        // What `sql_query` does with the same text: nothing kept, planned on every call.
        let _: N = diesel::sql_query(Sample::SQL)
            .bind::<Integer, _>(1)
            .bind::<Array<Text>, _>(vec!["z".to_owned()])
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(prepared_like(&mut conn, Sample::SQL), 1);
    }
}
