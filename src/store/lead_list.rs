//! The lead list: filters, search, sorting and pages, fast with millions of leads.
//!
//! Four things keep a page cheap whatever the table's size:
//! - totals come from per-status counters kept by triggers (`lead_counts`), not from
//!   counting rows; a search's total is counted only up to [`SEARCH_COUNT_LIMIT`];
//! - a search goes through a trigram index (SQLite FTS5, PostgreSQL pg_trgm) when it
//!   matches few leads, and walks the sort order when it matches many, where a page
//!   fills after a short walk; on PostgreSQL the walk is bounded, and a page it does not
//!   fill (the matches sit together far along the order) is read through the index;
//! - on SQLite, which has no statistics to choose from, the store picks between the
//!   status index and the sort column's index itself, from the exact status counts;
//! - the statements are not kept prepared: PostgreSQL would otherwise settle on one generic
//!   plan for every status and search text, and the best plan depends on the values.

use super::{
    Bind, Engine, Store, StoreResult, bind_all,
    leads::{LEAD_COLUMNS, Lead, LeadRow},
    placeholders, read, write,
};
use crate::domain::lead::LeadStatus;

/// A search's total is counted exactly up to this many leads; beyond, the total says "more".
pub const SEARCH_COUNT_LIMIT: i64 = 1_000;

/// A search matching at most this many leads goes through the trigram index; one matching
/// more walks the sort order, where matches are then at least 1% of the leads walked.
const INDEX_SEARCH_LIMIT: i64 = 10_000;

/// A status filter matching at most this many leads is read through the status index and
/// sorted; a larger one walks the sort column's index and skips other statuses.
const SMALL_STATUS_SET: i64 = 5_000;

/// Columns the lead list can be sorted by: the ones the dashboard's table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadSort {
    CompanyName,
    ContactName,
    Phone,
    Email,
    Status,
    Timezone,
    CallAttempts,
    LastCalledAt,
    NextCallAt,
    CreatedAt,
}

impl LeadSort {
    /// Every sortable column, in the dashboard's column order.
    pub const ALL: [LeadSort; 10] = [
        LeadSort::CompanyName,
        LeadSort::ContactName,
        LeadSort::Phone,
        LeadSort::Email,
        LeadSort::Status,
        LeadSort::Timezone,
        LeadSort::CallAttempts,
        LeadSort::LastCalledAt,
        LeadSort::NextCallAt,
        LeadSort::CreatedAt,
    ];

    /// The column's name, as the API's `sort` parameter takes it.
    pub fn parse(s: &str) -> Option<LeadSort> {
        LeadSort::ALL.into_iter().find(|c| c.column() == s)
    }

    pub fn column(self) -> &'static str {
        match self {
            LeadSort::CompanyName => "company_name",
            LeadSort::ContactName => "contact_name",
            LeadSort::Phone => "phone",
            LeadSort::Email => "email",
            LeadSort::Status => "status",
            LeadSort::Timezone => "timezone",
            LeadSort::CallAttempts => "call_attempts",
            LeadSort::LastCalledAt => "last_called_at",
            LeadSort::NextCallAt => "next_call_at",
            LeadSort::CreatedAt => "created_at",
        }
    }

    fn nullable(self) -> bool {
        matches!(self, LeadSort::LastCalledAt | LeadSort::NextCallAt)
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    Desc,
}

/// The list's order, shared with the export so a download matches the page. Never-called
/// leads go last in both directions; the id keeps equal keys in a stable order. `mirrored`
/// gives the exact reverse, for reading a deep page from the other end. Each form matches
/// an index of that engine's (migration 0007 has the ones for the nullable columns).
fn order_by(engine: Engine, sort: LeadSort, order: Order, mirrored: bool) -> String {
    let col = sort.column();
    let dir = match (order, mirrored) {
        (Order::Asc, false) | (Order::Desc, true) => "ASC",
        (Order::Desc, false) | (Order::Asc, true) => "DESC",
    };
    if !sort.nullable() {
        return format!(" ORDER BY {col} {dir}, id {dir}");
    }
    match (engine, order) {
        // SQLite puts NULL first; (col IS NULL) moves them to the end.
        (Engine::Sqlite, Order::Asc) => {
            format!(" ORDER BY ({col} IS NULL) {dir}, {col} {dir}, id {dir}")
        }
        (Engine::Sqlite, Order::Desc) => format!(" ORDER BY {col} {dir}, id {dir}"),
        (Engine::Postgres, _) => {
            // NULLS LAST for the order asked for; the mirror flips it with the direction.
            let nulls = if mirrored { "FIRST" } else { "LAST" };
            format!(" ORDER BY {col} {dir} NULLS {nulls}, id {dir}")
        }
    }
}

/// Which leads a list, export or bulk action applies to.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub statuses: Vec<LeadStatus>,
    /// Case-insensitive substring of company, contact, email or phone.
    pub q: Option<String>,
}

impl LeadFilter {
    fn search_text(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }
}

/// How a search finds its leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchPath {
    /// No search text.
    None,
    /// Through the trigram index: the text matches at most [`INDEX_SEARCH_LIMIT`] leads.
    Index,
    /// Test every lead walked: the text is too short for trigrams, or matches so many
    /// leads that walking the sort order finds a page sooner than the index would.
    Scan,
}

/// Status filtering on SQLite: which index the planner may use for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusPath {
    /// Let the planner choose (PostgreSQL has statistics; no status filter on SQLite).
    Planner,
    /// Few leads match: read them through the status index and sort them.
    StatusIndex,
    /// Many match: walk the sort column's index (`+status` keeps the status index out).
    SortIndex,
}

/// A filter ready to become SQL.
pub(crate) struct FilterSql {
    pub(crate) where_sql: String,
    pub(crate) binds: Vec<Bind>,
    /// `FROM leads` and, on SQLite, the index hint.
    pub(crate) from: &'static str,
}

impl LeadFilter {
    /// The WHERE clause (or empty) and its bound values, for `engine` and `path`.
    fn sql(&self, engine: Engine, search: SearchPath, status: StatusPath) -> FilterSql {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        if !self.statuses.is_empty() {
            let ph = placeholders(binds.len(), self.statuses.len());
            binds.extend(self.statuses.iter().map(|s| Bind::Text(s.as_str().into())));
            let col = if status == StatusPath::SortIndex {
                "+status"
            } else {
                "status"
            };
            clauses.push(format!("{col} IN ({ph})"));
        }
        if let Some(q) = self.search_text() {
            let digits = phone_digits(q);
            clauses.push(search_clause(
                engine,
                search,
                !self.statuses.is_empty(),
                q,
                digits.as_deref(),
                &mut binds,
            ));
        }
        FilterSql {
            where_sql: if clauses.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", clauses.join(" AND "))
            },
            binds,
            from: match (engine, search, status) {
                (_, _, StatusPath::StatusIndex) => " FROM leads INDEXED BY idx_leads_status",
                // The few matches are looked up by id and sorted; left to itself, SQLite
                // walks the sort order and tests every lead against the match list.
                (Engine::Sqlite, SearchPath::Index, _) => {
                    " FROM leads INDEXED BY sqlite_autoindex_leads_1"
                }
                _ => " FROM leads",
            },
        }
    }
}

fn search_clause(
    engine: Engine,
    search: SearchPath,
    by_status: bool,
    q: &str,
    digits: Option<&str>,
    binds: &mut Vec<Bind>,
) -> String {
    match (engine, search) {
        (Engine::Sqlite, SearchPath::Index) => {
            binds.push(Bind::Text(fts_query(q, digits)));
            format!(
                "id IN (SELECT lead_id FROM lead_search_ids WHERE rid IN \
                 (SELECT rowid FROM lead_search WHERE lead_search MATCH ${}))",
                binds.len()
            )
        }
        (Engine::Sqlite, _) => {
            // SQLite's LIKE ignores ASCII case by itself.
            binds.push(Bind::Text(format!("%{}%", escape_like(q))));
            let n = binds.len();
            let mut ors: Vec<String> = ["company_name", "contact_name", "email", "phone"]
                .iter()
                .map(|col| format!("{col} LIKE ${n} ESCAPE '\\'"))
                .collect();
            if let Some(d) = digits {
                binds.push(Bind::Text(format!("%{d}%")));
                ors.push(format!("phone LIKE ${}", binds.len()));
            }
            format!("({})", ors.join(" OR "))
        }
        (Engine::Postgres, SearchPath::Index) => {
            // The few matches are listed first and then looked up by id: as an array, they
            // cannot be hash-joined against the whole sort index. Behind a sub-select the
            // patterns cost the planner nothing to estimate (the store already has).
            let like = pg_like(q, digits, binds, true);
            format!("id = ANY(ARRAY(SELECT lead_id FROM lead_search WHERE {like}))")
        }
        (Engine::Postgres, _) if !by_status => {
            // Many matches: walk the sort order and look each lead's text up by its key, a
            // test the planner cannot turn into a join over every match.
            let like = pg_like(q, digits, binds, false);
            format!("(SELECT {like} FROM lead_search WHERE lead_search.lead_id = leads.id)")
        }
        (Engine::Postgres, _) => {
            // Many matches and a status filter: the planner's statistics choose the path.
            let like = pg_like(q, digits, binds, false);
            format!("id IN (SELECT lead_id FROM lead_search WHERE {like})")
        }
    }
}

/// `doc` matched against a PostgreSQL search's patterns (`lead_search.doc` is the four
/// columns, lowercased, with a trigram index: migration 0007). The database lowercases the
/// pattern too, so both sides agree in whatever locale it runs (in the C locale `lower`
/// leaves "É" alone). `hidden` puts each pattern behind a sub-select so the planner leaves
/// its statistics alone.
fn pg_like(q: &str, digits: Option<&str>, binds: &mut Vec<Bind>, hidden: bool) -> String {
    let (pattern, digits) = pg_patterns(q, digits);
    let mut likes = Vec::new();
    for p in std::iter::once(pattern).chain(digits) {
        binds.push(Bind::Text(p));
        let n = binds.len();
        // Backslash is PostgreSQL's default LIKE escape.
        likes.push(if hidden {
            format!("doc LIKE (SELECT lower(${n}::text))")
        } else {
            format!("doc LIKE lower(${n})")
        });
    }
    format!("({})", likes.join(" OR "))
}

/// The digits of a search that looks like a phone number written with punctuation (at
/// least three digits and something else): stored numbers are bare digits.
fn phone_digits(q: &str) -> Option<String> {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 3 && digits.len() != q.len()).then_some(digits)
}

/// The LIKE patterns of a PostgreSQL search: the text, and the digits of a phone-like text
/// (lowercased by the database, see [`pg_like`]).
fn pg_patterns(q: &str, digits: Option<&str>) -> (String, Option<String>) {
    (
        format!("%{}%", escape_like(q)),
        digits.map(|d| format!("%{d}%")),
    )
}

/// A PostgreSQL search the planner expects to match at most this many leads is read
/// through the trigram index; one expected to match more walks the sort order.
const PG_INDEX_SEARCH_ESTIMATE: i64 = 10_000;

/// The most leads a page of a PostgreSQL search walks (some tens of milliseconds' worth)
/// before it reads the matches through the trigram index instead.
const WALK_BUDGET: i64 = 20_000;

/// An FTS5 query for the substring `q` (or, for phone-like text, its digits in the phone
/// column): each becomes one quoted phrase, so no character in it is FTS syntax.
fn fts_query(q: &str, digits: Option<&str>) -> String {
    let phrase = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    match digits {
        Some(d) => format!("{} OR phone : {}", phrase(q), phrase(d)),
        None => phrase(q),
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of leads.
#[derive(Debug, Clone)]
pub struct LeadPage {
    pub items: Vec<Lead>,
    /// Matching leads; when `total_exact` is false, "at least this many".
    pub total: i64,
    pub total_exact: bool,
}

/// A request for one page of the lead list.
#[derive(Debug, Clone)]
pub struct LeadListQuery {
    pub filter: LeadFilter,
    pub sort: LeadSort,
    pub order: Order,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// A plan for reading leads: the filter's SQL and how many leads it matches, when known.
pub(crate) struct ListPlan {
    pub(crate) sql: FilterSql,
    /// The filter's SQL for counting: on SQLite, counting through the status index reads
    /// fewer rows than any other path, whatever the order.
    count_sql: FilterSql,
    pub(crate) search: SearchPath,
    /// Exact number of matching leads, when it could be had cheaply.
    known_total: Option<i64>,
    /// A PostgreSQL search that walks the sort order: how far a page may walk.
    walk: Option<Walk>,
}

/// A walk of the sort order in search of many matches (PostgreSQL). The walk is bounded:
/// matches can sit together at the far end of the order (leads imported together share a
/// trade or an exchange), and a page that does not fill within its window is read through
/// the trigram index instead.
pub(crate) struct Walk {
    /// Leads the planner expects the search to match, and leads stored.
    expected: i64,
    leads: i64,
    /// The filter read through the trigram index.
    index_sql: FilterSql,
}

impl Walk {
    /// How many leads to walk, at most, for the first `needed` matches: no more than the
    /// index would read (its matches) and [`WALK_BUDGET`], so a walk that comes back short
    /// costs at most about what the index path then costs. `None` when the page is not
    /// expected within half of that: the index is the shorter way.
    fn window(&self, needed: i64) -> Option<i64> {
        let distance = needed
            .saturating_mul(self.leads)
            .checked_div(self.expected)?;
        let window = self.expected.min(WALK_BUDGET);
        (distance.saturating_mul(2) <= window).then_some(window)
    }
}

impl Store {
    /// Leads per status, exact, from the trigger-kept counters.
    pub async fn count_by_status(&self, statuses: &[LeadStatus]) -> StoreResult<i64> {
        let mut sql = "SELECT COALESCE(SUM(n), 0) FROM (SELECT status, n FROM lead_counts \
                       UNION ALL SELECT status, delta AS n FROM lead_count_deltas) AS c"
            .to_owned();
        if !statuses.is_empty() {
            sql.push_str(&format!(
                " WHERE status IN ({})",
                placeholders(0, statuses.len())
            ));
        }
        let binds: Vec<Bind> = statuses
            .iter()
            .map(|s| Bind::Text(s.as_str().into()))
            .collect();
        // SUM over BIGINT is NUMERIC on PostgreSQL; the cast keeps one Rust type.
        let sql = format!("SELECT CAST(({sql}) AS BIGINT)");
        Ok(read!(self, pool =>
            bind_all!(sqlx::query_scalar::<_, i64>(&sql), &binds).fetch_one(pool).await?))
    }

    /// Moves PostgreSQL's pending count deltas into `lead_counts`, so reading the counts
    /// stays a sum over a few rows. Runs on every dialer tick; harmless anywhere.
    pub async fn fold_lead_counts(&self) -> StoreResult<()> {
        if self.engine() == Engine::Postgres {
            write!(self, pool => sqlx::query(
                "WITH moved AS (DELETE FROM lead_count_deltas RETURNING status, delta), \
                 sums AS (SELECT status, SUM(delta) AS d FROM moved GROUP BY status) \
                 UPDATE lead_counts SET n = lead_counts.n + sums.d FROM sums WHERE lead_counts.status = sums.status",
            )
            .execute(pool)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    /// Decides how to read the leads `filter` matches (see the module's notes).
    pub(crate) async fn plan_list(&self, filter: &LeadFilter) -> StoreResult<ListPlan> {
        let engine = self.engine();
        let status_total = if filter.search_text().is_none() || engine == Engine::Sqlite {
            Some(self.count_by_status(&filter.statuses).await?)
        } else {
            None
        };
        let status_path = |statuses_total: Option<i64>| match (engine, statuses_total) {
            (Engine::Sqlite, Some(n)) if !filter.statuses.is_empty() => {
                if n <= SMALL_STATUS_SET {
                    StatusPath::StatusIndex
                } else {
                    StatusPath::SortIndex
                }
            }
            _ => StatusPath::Planner,
        };
        let plan = |search, status, known_total, walk| {
            let count_status = if engine == Engine::Sqlite
                && !filter.statuses.is_empty()
                && search != SearchPath::Index
            {
                StatusPath::StatusIndex
            } else {
                status
            };
            let count_sql = match filter.search_text() {
                // Counting a search without a status filter needs no lead: its text says
                // whether it matches.
                Some(q) if engine == Engine::Postgres && filter.statuses.is_empty() => {
                    let mut binds = Vec::new();
                    let hidden = search == SearchPath::Index;
                    let like = pg_like(q, phone_digits(q).as_deref(), &mut binds, hidden);
                    FilterSql {
                        where_sql: format!(" WHERE {like}"),
                        binds,
                        from: " FROM lead_search",
                    }
                }
                _ => filter.sql(engine, search, count_status),
            };
            ListPlan {
                sql: filter.sql(engine, search, status),
                count_sql,
                search,
                known_total,
                walk,
            }
        };
        let Some(q) = filter.search_text() else {
            return Ok(plan(
                SearchPath::None,
                status_path(status_total),
                status_total,
                None,
            ));
        };
        if engine == Engine::Postgres {
            // The planner's own estimate decides, but the choice is made here: left to
            // itself, it walks the sort order whenever it expects many matches, even when
            // they all sit at the far end of that order.
            let digits = phone_digits(q);
            let (pattern, digits) = pg_patterns(q, digits.as_deref());
            let expected: i64 = read!(self, pool => sqlx::query_scalar::<_, i64>(
                "SELECT lead_search_estimate(lower($1)) \
                 + CASE WHEN $2::text IS NULL THEN 0 ELSE lead_search_estimate($2) END")
                .bind(&pattern).bind(&digits).fetch_one(pool).await?);
            if expected <= PG_INDEX_SEARCH_ESTIMATE {
                return Ok(plan(SearchPath::Index, StatusPath::Planner, None, None));
            }
            let walk = if filter.statuses.is_empty() {
                Some(Walk {
                    expected,
                    leads: self.count_by_status(&[]).await?,
                    index_sql: filter.sql(engine, SearchPath::Index, StatusPath::Planner),
                })
            } else {
                None
            };
            return Ok(plan(SearchPath::Scan, StatusPath::Planner, None, walk));
        }
        // Trigrams need three characters; shorter text can only be scanned for.
        if q.chars().count() >= 3 {
            let digits = phone_digits(q);
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT rowid FROM lead_search WHERE lead_search MATCH $1 LIMIT {})",
                INDEX_SEARCH_LIMIT + 1
            );
            let matches: i64 = read!(self, pool => sqlx::query_scalar::<_, i64>(&sql)
                .persistent(false)
                .bind(fts_query(q, digits.as_deref()))
                .fetch_one(pool)
                .await?);
            if matches <= INDEX_SEARCH_LIMIT {
                return Ok(plan(
                    SearchPath::Index,
                    StatusPath::Planner,
                    (matches == 0).then_some(0),
                    None,
                ));
            }
        }
        Ok(plan(
            SearchPath::Scan,
            status_path(status_total),
            None,
            None,
        ))
    }

    /// The number of leads a plan matches: exact when known or small, otherwise counted
    /// only up to [`SEARCH_COUNT_LIMIT`] (the `bool` says whether it is exact).
    async fn plan_total(&self, plan: &ListPlan, filter: &LeadFilter) -> StoreResult<(i64, bool)> {
        if let Some(n) = plan.known_total {
            return Ok((n, true));
        }
        if plan.search == SearchPath::Scan
            && filter.statuses.is_empty()
            && self.engine() == Engine::Sqlite
            && filter.search_text().is_some_and(|q| q.chars().count() >= 3)
        {
            // The index already said the text matches more leads than that.
            return Ok((SEARCH_COUNT_LIMIT, false));
        }
        let FilterSql {
            where_sql,
            binds,
            from,
        } = &plan.count_sql;
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1{from}{where_sql} LIMIT {}) AS matching",
            SEARCH_COUNT_LIMIT + 1
        );
        let n: i64 = read!(self, pool =>
            bind_all!(sqlx::query_scalar::<_, i64>(&sql).persistent(false), binds).fetch_one(pool).await?);
        Ok(if n > SEARCH_COUNT_LIMIT {
            (SEARCH_COUNT_LIMIT, false)
        } else {
            (n, true)
        })
    }

    pub async fn list_leads(&self, query: &LeadListQuery) -> StoreResult<LeadPage> {
        let plan = self.plan_list(&query.filter).await?;
        let offset = i64::from(query.page.saturating_sub(1)) * i64::from(query.per_page);
        let (items, (total, total_exact)) = match plan.known_total {
            Some(total) if offset >= total => (Vec::new(), (total, true)),
            Some(total) => (
                self.read_page(&plan, query, offset, Some(total)).await?,
                (total, true),
            ),
            // A search is counted beside the page, on a second connection.
            None => tokio::try_join!(
                self.read_page(&plan, query, offset, None),
                self.plan_total(&plan, &query.filter)
            )?,
        };
        Ok(LeadPage {
            items,
            total,
            total_exact,
        })
    }

    /// The page at `offset`. The ids are picked first from the indexes alone and the rows
    /// read after, so leads skipped over are never fetched whole. With the total known, a
    /// page past the middle is picked from the other end in mirrored order, so the walk is
    /// never longer than half the list.
    async fn read_page(
        &self,
        plan: &ListPlan,
        query: &LeadListQuery,
        offset: i64,
        total: Option<i64>,
    ) -> StoreResult<Vec<Lead>> {
        let per_page = i64::from(query.per_page);
        let mirrored = total.is_some_and(|t| offset > t / 2);
        let (limit, offset) = match total {
            Some(t) if mirrored => {
                let end = t - offset; // leads from this page's first to the list's end
                (per_page.min(end), (end - per_page).max(0))
            }
            _ => (per_page, offset),
        };
        let pick = order_by(self.engine(), query.sort, query.order, mirrored);
        if let Some(walk) = &plan.walk {
            if let Some(window) = walk.window(offset + limit) {
                let walked = format!(
                    " FROM (SELECT id, {col} FROM leads{pick} LIMIT {window}) AS leads",
                    col = query.sort.column()
                );
                let rows = self
                    .read_ids(&plan.sql, Some(&walked), query, &pick, limit, offset)
                    .await?;
                if rows.len() as i64 == limit || window >= walk.leads {
                    return Ok(rows);
                }
            }
            return self
                .read_ids(&walk.index_sql, None, query, &pick, limit, offset)
                .await;
        }
        self.read_ids(&plan.sql, None, query, &pick, limit, offset)
            .await
    }

    /// The leads `filter` picks (from `source` when given: a window of the table) in
    /// `pick` order, `limit` from `offset`, returned in the page's own order.
    async fn read_ids(
        &self,
        filter: &FilterSql,
        source: Option<&str>,
        query: &LeadListQuery,
        pick: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Lead>> {
        let FilterSql {
            where_sql,
            binds,
            from,
        } = filter;
        let from = source.unwrap_or(from);
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE id IN \
             (SELECT id{from}{where_sql}{pick} LIMIT {limit} OFFSET {offset}){order}",
            order = order_by(self.engine(), query.sort, query.order, false),
        );
        let rows: Vec<LeadRow> = read!(self, pool =>
            bind_all!(sqlx::query_as::<_, LeadRow>(&sql).persistent(false), binds).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Lead::from).collect())
    }

    /// Sends every lead matching `filter`, in `sort` order, down `out` as the database
    /// yields them; used by the CSV export so memory stays flat however many leads match.
    /// Stops quietly when the receiver goes away (the client disconnected).
    pub async fn stream_leads(
        &self,
        filter: &LeadFilter,
        sort: LeadSort,
        order: Order,
        out: tokio::sync::mpsc::Sender<Lead>,
    ) -> StoreResult<()> {
        use futures_util::TryStreamExt;
        let plan = self.plan_list(filter).await?;
        let FilterSql {
            where_sql,
            binds,
            from,
        } = &plan.sql;
        let sql = format!(
            "SELECT {LEAD_COLUMNS}{from}{where_sql}{}",
            order_by(self.engine(), sort, order, false)
        );
        read!(self, pool => {
            let mut rows = bind_all!(sqlx::query_as::<_, LeadRow>(&sql).persistent(false), binds).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                if out.send(row.into()).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn fts_queries_quote_everything() {
        assert_eq!(fts_query("ab\"c OR d", None), "\"ab\"\"c OR d\"");
        assert_eq!(
            fts_query("(415) 555", Some("415555")),
            "\"(415) 555\" OR phone : \"415555\""
        );
    }

    #[test]
    fn filter_builds_numbered_placeholders() {
        let has = |s: &FilterSql, part: &str| {
            assert!(s.where_sql.contains(part), "{part} in {}", s.where_sql)
        };
        let f = LeadFilter {
            statuses: vec![LeadStatus::Pending, LeadStatus::Error],
            q: Some("(415) 555".into()),
        };
        let s = f.sql(Engine::Postgres, SearchPath::Index, StatusPath::Planner);
        has(&s, "status IN ($1, $2)");
        has(&s, "LIKE (SELECT lower($3::text))");
        has(&s, "LIKE (SELECT lower($4::text))");
        assert_eq!(s.binds.len(), 4);
        let walked = LeadFilter {
            statuses: vec![],
            ..f.clone()
        };
        let s = walked.sql(Engine::Postgres, SearchPath::Scan, StatusPath::Planner);
        has(&s, "lead_search.lead_id = leads.id");
        has(&s, "doc LIKE lower($2)");
        let s = f.sql(Engine::Sqlite, SearchPath::Index, StatusPath::SortIndex);
        has(&s, "+status IN ($1, $2)");
        has(&s, "MATCH $3");
        assert_eq!(s.binds.len(), 3);
    }

    #[test]
    fn mirrored_orders_reverse_every_key() {
        use Engine::*;
        let o = |e, s, ord, m| order_by(e, s, ord, m);
        assert_eq!(
            o(Sqlite, LeadSort::CompanyName, Order::Desc, true),
            " ORDER BY company_name ASC, id ASC"
        );
        assert_eq!(
            o(Sqlite, LeadSort::LastCalledAt, Order::Asc, false),
            " ORDER BY (last_called_at IS NULL) ASC, last_called_at ASC, id ASC"
        );
        assert_eq!(
            o(Sqlite, LeadSort::LastCalledAt, Order::Asc, true),
            " ORDER BY (last_called_at IS NULL) DESC, last_called_at DESC, id DESC"
        );
        assert_eq!(
            o(Postgres, LeadSort::NextCallAt, Order::Desc, false),
            " ORDER BY next_call_at DESC NULLS LAST, id DESC"
        );
        assert_eq!(
            o(Postgres, LeadSort::NextCallAt, Order::Desc, true),
            " ORDER BY next_call_at ASC NULLS FIRST, id ASC"
        );
    }
}
