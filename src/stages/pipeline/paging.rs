//! The paging engine: crmgate refills a list and counts a search itself when the caller
//! may not see every record the CRM would page over. **Refill** (a list): fetch the CRM's
//! pages from the client's position on, filter each, and answer `limit` shown records with
//! crmgate's own sealed cursor ([`super::cursor`]); where it can, the row condition is
//! pushed down into the vendor's search so the CRM sends mostly records the caller may
//! see. **Count** (a search): walk the whole result (bounded), filter each page, and
//! answer the client's page with `total` and paging counted over what it is shown.
//!
//! No side channel: a page, a `total` or a cursor must never reflect a record the caller
//! may not see, and a walk that fails releases none of the pages it read.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use http::{Response, StatusCode};

use crate::error::RequestError;
use crate::policy::plan::{RowCondition, Selectability};
use crate::routes::{Operation, Route};
use crate::stages::authz::{Allowed, Permit};
use crate::stages::filter::{FilteredDoc, RecordAudit, Releasable};
use crate::stages::upstream::BufferTurn;
use crate::stages::vendor::{CountedSearch, PageRead, PushedList, RefilledList};

use super::associated::filter_answer;
use super::ctx::{micros, RequestCtx, Step};
use super::cursor::{open_cursor, seal_cursor, CursorBinding};
use super::respond::{json_response, Body};
use super::shared::Shared;

/// Whether crmgate pages a list or counts a search itself: unless the policies show the
/// caller every record (or the route is in shadow mode), rows it may not see would be
/// dropped after the CRM chose its page, and the CRM's counts would include them.
pub(super) fn walks(route: &Route, selectable: Option<&Selectability>) -> bool {
    !route.shadow && !selectable.is_some_and(|s| s.every_row_visible)
}

/// The binding of crmgate's cursors on a route: its own, or those of the route it reads
/// the cursors of (`cursor_of`: a vendor's next page at a path of its own).
fn binding<'a>(step: &'a Step<'_>, mode: &'a str) -> CursorBinding<'a> {
    CursorBinding {
        route: step.route.cursor_scope(),
        revision: step.engine.revision(),
        scope: step.scope.memo_key(),
        mode,
    }
}

/// Open crmgate's cursor that a route's path names (a counted search going on from it):
/// what it carries for the vendor to resume the search. fail closed: a cursor that does
/// not open for this route, revision, caller and purpose is refused.
pub(super) fn resume(
    sh: &Shared,
    route: &Route,
    engine: &crate::policy::PolicyEngine,
    scope: &crate::policy::Scope,
    token: &str,
) -> Result<String, RequestError> {
    let binding = CursorBinding {
        route: route.cursor_scope(),
        revision: engine.revision(),
        scope: scope.memo_key(),
        mode: "counted",
    };
    let (state, _) = open_cursor(token, &binding, &sh.cursor_key)?;
    state.ok_or_else(|| {
        RequestError::BadRequest("the paging cursor does not name a search: start again".into())
    })
}

/// A search whose matches the caller may not all see: read the CRM's result page by page
/// only as far as the client's page and one shown record beyond it (never the whole
/// result), filter each, and answer the client's page out of what it is shown, with paging
/// over that alone. `total`: where the walk reached the end, the shown records counted;
/// where the row condition went into the CRM's query exactly (`exact`: the policies' rows
/// over the attribute domain are that condition, and the vendor's query carries all of
/// it) and no record read was hidden, the CRM's own count; otherwise the shown records up
/// to this page plus the one found beyond it (a lower bound, never a hidden record).
pub(super) async fn search(
    sh: &Shared,
    step: &Step<'_>,
    search: &dyn CountedSearch,
    rows: Option<Arc<RowCondition>>,
    exact: bool,
    ctx: &mut RequestCtx,
    mut turn: BufferTurn,
) -> Result<Response<Body>, RequestError> {
    // The client's position is crmgate's sealed cursor, not an offset it may choose:
    // bound like a list's to the route, the policy revision, the caller and purpose.
    let (cursor, limit) = search.client_page();
    let binding = binding(step, "counted");
    // The shown records the client asks for: from `skip`, at most `cap` (a query's own
    // OFFSET and LIMIT, counted over what is shown).
    let (skip, cap) = search.window();
    let offset = match cursor.as_deref() {
        None => skip,
        Some(c) => open_cursor(c, &binding, &sh.cursor_key)?.1,
    };
    // fail closed: the CRM's count stands for the caller's only where the vendor's
    // query carries the whole row condition.
    let exact = exact && search.pushes_exactly(rows.as_deref());
    let mut docs = Vec::new();
    let mut spans = Vec::new();
    let mut total = 0usize;
    let mut audits = Vec::new();
    let mut cursor: Option<String> = None;
    let mut walk = Walk::default();
    let mut crm_total: Option<usize> = None;
    let mut hidden = 0usize;
    loop {
        within_bounds(sh, search, &walk)?;
        let request = search.page_request(cursor.take(), rows.as_deref())?;
        let permit = step.allowed.permit(request.path_and_query, request.body)?;
        let page = walk_page(sh, step, permit, &mut walk, ctx, &mut turn, &|v| {
            search.read_page(v)
        })
        .await
        .inspect_err(|_| ctx.nothing_released())?;
        let results = page.audits.len();
        total += results;
        hidden += page.hidden;
        if walk.pages == 1 {
            crm_total = page.skeleton_total.and_then(|t| search.upstream_total(&t));
        }
        docs.push(page.doc);
        spans.push(page.records);
        audits.extend(page.audits);
        cursor = page.next;
        // Past the client's LIMIT nothing more is counted; past its page and one record
        // beyond, nothing more is read.
        // A vendor that counts always (its count is asked for: a query's COUNT) is walked to
        // the end.
        let enough = cap.is_some_and(|c| total >= skip.saturating_add(c))
            || (!search.always_counted() && total > offset.saturating_add(limit));
        if cursor.is_none() || enough {
            break;
        }
    }
    walk.record(ctx);
    let whole = cursor.is_none();
    // The CRM's count of an exact query whose records read were all shown.
    let crm_total = crm_total.filter(|_| exact && hidden == 0 && !whole && cap.is_none());
    let counted = search_total(total, whole, crm_total, walk.pages, ctx);
    let shown_end = cap.map_or(counted, |c| counted.min(skip.saturating_add(c)));
    let end = offset.saturating_add(limit).min(shown_end).min(total);
    let taken = end.saturating_sub(offset);
    let resume = search.resume();
    let next = (end < shown_end)
        .then(|| seal_cursor(resume.as_deref(), end, &binding, &sh.cursor_key))
        .transpose()?;
    ctx.records = audits.into_iter().skip(offset).take(taken).collect();
    // The client's page, made of the filtered pages only.
    let body = Releasable::compose(&docs, |docs| {
        let pages = page_records(docs, &spans)?;
        let page: Vec<&[u8]> = pages
            .into_iter()
            .flatten()
            .skip(offset)
            .take(taken)
            .collect();
        search.answer(shown_end.saturating_sub(skip), &page, next.clone())
    })?;
    json_response(
        StatusCode::OK,
        body,
        step.request_id,
        Some(turn.into_permit().await?),
    )
}

/// The bounds of a search's walk: the vendor's own (a vendor's search may stop at a fixed
/// number of results) and the configured ones; a page past them cannot be given.
fn within_bounds(sh: &Shared, search: &dyn CountedSearch, walk: &Walk) -> Result<(), RequestError> {
    let max_pages = search
        .max_pages()
        .min(sh.config.limits.max_upstream_requests_per_request);
    if walk.pages == max_pages || walk.bytes >= sh.config.limits.max_upstream_bytes_per_request {
        return Err(RequestError::BadRequest(format!(
            "the search selects more records than crmgate reads per request ({} CRM \
             pages of {}); narrow it",
            walk.pages,
            search.page_size()
        )));
    }
    Ok(())
}

/// A search's `total` and the record's note: the shown records where the walk reached the
/// end or read on past the page; the CRM's count where it is given (exact) and not less.
fn search_total(
    shown: usize,
    whole: bool,
    crm_total: Option<usize>,
    pages: usize,
    ctx: &mut RequestCtx,
) -> usize {
    let counted = crm_total.filter(|t| *t >= shown).unwrap_or(shown);
    ctx.detail = Some(format!(
        "search paged over what the caller is shown ({pages} CRM pages; total {})",
        if whole {
            "counted to the end"
        } else if counted > shown {
            "the CRM's, the query carrying the row condition exactly"
        } else {
            "shown so far, one more beyond"
        }
    ));
    counted
}

/// A list whose rows the caller may not all see: fetch the CRM's pages from the
/// client's position on, filter each, and answer `limit` shown records (the last page
/// may be shorter) with crmgate's own sealed cursor. One record beyond the page is
/// looked for, so that a cursor is given only when a further page has a record.
pub(super) async fn list(
    sh: &Shared,
    step: &Step<'_>,
    list: &dyn RefilledList,
    rows: Option<Arc<RowCondition>>,
    ctx: &mut RequestCtx,
    mut turn: BufferTurn,
) -> Result<Response<Body>, RequestError> {
    let pushed = pushdown(step, list, rows, ctx);
    let binding = binding(step, if pushed.is_some() { "search" } else { "list" });
    let (mut after, mut skip) = match list.cursor() {
        None => (None, 0),
        Some(c) => open_cursor(c, &binding, &sh.cursor_key)?,
    };
    let limit = list.limit();
    let first_skip = skip;
    // The filtered pages read, and each shown record's position in them: (the CRM's
    // page cursor, its index among that page's shown records).
    let mut docs = Vec::new();
    let mut spans = Vec::new();
    let mut shown: Vec<(Option<String>, usize)> = Vec::new();
    let mut audits = Vec::new();
    let mut walk = Walk::default();
    let mut exhausted = false;
    let bounds = &sh.config.limits;
    while shown.len() <= limit {
        // The configured bounds of CRM requests and bytes per client request; the page
        // then ends short, with a cursor where the walk stopped.
        if walk.pages
            >= list
                .max_pages()
                .min(bounds.max_upstream_requests_per_request)
            || walk.bytes >= bounds.max_upstream_bytes_per_request
        {
            break;
        }
        let permit = match &pushed {
            Some((p, a)) => a.permit(p.path().to_string(), Some(p.page_body(after.as_deref())?))?,
            None => step
                .allowed
                .permit(list.page_request(after.as_deref()), None)?,
        };
        let page = walk_page(sh, step, permit, &mut walk, ctx, &mut turn, &|v| {
            list.read_page(v)
        })
        .await
        .inspect_err(|_| ctx.nothing_released())?;
        for (i, a) in page.audits.into_iter().enumerate().skip(skip) {
            shown.push((after.clone(), i));
            audits.push(a);
        }
        docs.push(page.doc);
        spans.push(page.records);
        skip = 0;
        match page.next {
            Some(n) => after = Some(n),
            None => {
                exhausted = true;
                break;
            }
        }
    }
    // Where the next client page starts: the first shown record not returned, or, when
    // the page bound stopped the walk first, the CRM page after the last one read.
    let unread = (!exhausted).then_some(after.as_deref());
    let pushed_list = pushed.as_ref().map(|(p, _)| p.as_ref());
    let next = next_page(pushed_list, &shown, &audits, limit, unread, &binding, sh)?;
    audits.truncate(limit);
    ctx.records = audits;
    walk.record(ctx);
    ctx.detail = Some(refill_detail(walk.pages, pushed.is_some()));
    // The client's page, made of the filtered pages only.
    let body = Releasable::compose(&docs, |docs| {
        let mut records = Vec::with_capacity(limit);
        for (n, p) in page_records(docs, &spans)?.into_iter().enumerate() {
            let skip = if n == 0 { first_skip } else { 0 };
            records.extend(p.into_iter().skip(skip));
        }
        records.truncate(limit);
        list.answer(&records, next)
    })?;
    json_response(
        StatusCode::OK,
        body,
        step.request_id,
        Some(turn.into_permit().await?),
    )
}

/// Where the next client page of a refilled list starts: the first shown record not
/// returned — right after this page's last record where the vendor can name that position
/// (no CRM page is read twice), else its CRM page and index — or, when the page bound
/// stopped the walk first (`unread`: the CRM page after the last one read), there.
fn next_page(
    pushed: Option<&dyn PushedList>,
    shown: &[(Option<String>, usize)],
    audits: &[RecordAudit],
    limit: usize,
    unread: Option<Option<&str>>,
    binding: &CursorBinding<'_>,
    sh: &Shared,
) -> Result<Option<String>, RequestError> {
    let after_last = match (pushed, shown.get(limit), limit.checked_sub(1)) {
        (Some(p), Some((_, i)), Some(last)) if *i > 0 => {
            audits.get(last).and_then(|a| p.cursor_after(&a.id))
        }
        _ => None,
    };
    let key = &sh.cursor_key;
    Ok(match (shown.get(limit), unread) {
        (Some(_), _) if after_last.is_some() => {
            Some(seal_cursor(after_last.as_deref(), 0, binding, key)?)
        }
        (Some((a, i)), _) => Some(seal_cursor(a.as_deref(), *i, binding, key)?),
        (None, Some(after)) => Some(seal_cursor(after, 0, binding, key)?),
        (None, None) => None,
    })
}

/// Push the row condition down into the vendor's search where it can carry it and the
/// caller may search: the CRM then sends (mostly) records the caller may see. An
/// optimisation only — every row that comes back is still decided one by one. With the
/// search's own authorization, from which its pages' permits are made.
fn pushdown(
    step: &Step<'_>,
    list: &dyn RefilledList,
    rows: Option<Arc<RowCondition>>,
    ctx: &mut RequestCtx,
) -> Option<(Box<dyn PushedList>, Allowed)> {
    let pushed = rows
        .as_deref()
        .and_then(|r| list.pushdown(&step.route.resource, r))?;
    let search = search_permission(step, pushed.path(), ctx)?;
    Some((pushed, search))
}

/// The record's note on a refilled list.
fn refill_detail(pages: usize, pushed: bool) -> String {
    format!(
        "list refilled over what the caller is shown ({} CRM pages{})",
        pages,
        if pushed {
            ", row condition pushed into the CRM's search"
        } else {
            ""
        }
    )
}

/// Where `part` (a slice of `whole`) lies in it; `None` when it is not a slice of it.
fn span_in(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The records of walked pages, as JSON text slices of their documents.
fn page_records<'d>(
    docs: &'d [FilteredDoc],
    spans: &[Vec<Range<usize>>],
) -> Result<Vec<Vec<&'d [u8]>>, RequestError> {
    docs.iter()
        .zip(spans)
        .map(|(doc, spans)| {
            spans
                .iter()
                .map(|r| doc.bytes().get(r.clone()))
                .collect::<Option<Vec<_>>>()
                // fail closed
                .ok_or_else(|| RequestError::Internal("a record outside its page".into()))
        })
        .collect()
}

/// The tallies of a walk over the CRM's pages (a counted search, a refilled list).
#[derive(Default)]
struct Walk {
    pages: usize,
    bytes: usize,
    upstream_us: u64,
    filter_us: u64,
}

impl Walk {
    fn record(&self, ctx: &mut RequestCtx) {
        ctx.took("upstream", self.upstream_us);
        ctx.took("filter", self.filter_us);
    }
}

/// One CRM page of a walk, filtered: the document, the audit view of its shown records (in
/// the order of its records) and the CRM's cursor of the next page.
struct WalkedPage {
    doc: FilteredDoc,
    /// Where each shown record's JSON text lies in the document.
    records: Vec<Range<usize>>,
    audits: Vec<RecordAudit>,
    next: Option<String>,
    /// How many of the page's records were hidden from the caller.
    hidden: usize,
    /// The page without its records (the envelope: the CRM's count, its paging).
    skeleton_total: Option<Vec<u8>>,
}

/// Reads a filtered page's records and the CRM's next cursor (the vendor profile's).
type ReadPage<'a> = &'a (dyn for<'b> Fn(&'b [u8]) -> Result<PageRead<'b>, RequestError> + Sync);

/// Send one permitted page request of a walk, filter the answer and account for it.
async fn walk_page(
    sh: &Shared,
    step: &Step<'_>,
    permit: Permit,
    walk: &mut Walk,
    ctx: &mut RequestCtx,
    turn: &mut BufferTurn,
    read: ReadPage<'_>,
) -> Result<WalkedPage, RequestError> {
    walk.pages += 1;
    let t = Instant::now();
    let upstream = sh
        .upstream
        .send(permit, step.request_id, step.peer.ip(), Some(turn))
        .await;
    walk.upstream_us += micros(t);
    let upstream = upstream?;
    ctx.upstream_status = Some(upstream.status.as_u16());
    walk.bytes = walk.bytes.saturating_add(upstream.body.len());
    let (mut filtered, filter_us) = filter_answer(sh, step, &upstream.body, ctx).await?;
    walk.filter_us += filter_us;
    ctx.filtered(&filtered);
    let spans = filtered.take_spans();
    let doc = filtered.take_doc();
    let mut skeleton_total = None;
    let (records, next) = if let Some((first, last)) = spans
        .as_ref()
        .and_then(|s| Some((s.first()?.start, s.last()?.end)))
    {
        // The filter knows where its records lie: the vendor reads the rest alone (the
        // envelope around an empty records array), not the records a second time.
        let bytes = doc.bytes();
        let (Some(head), Some(tail)) = (bytes.get(..first), bytes.get(last..)) else {
            return Err(RequestError::Internal(
                "a record outside its filtered page".into(),
            ));
        };
        let skeleton = [head, tail].concat();
        let page = read(&skeleton)?;
        if !page.records.is_empty() {
            // fail closed: records the spans do not account for.
            return Err(RequestError::Internal(
                "a filtered page with records outside its spans".into(),
            ));
        }
        let next = page.next;
        skeleton_total = Some(skeleton);
        (spans.unwrap_or_default(), next)
    } else {
        let page = read(doc.bytes())?;
        // fail closed: a record not found inside the filtered body is not released.
        let records = page
            .records
            .iter()
            .map(|r| span_in(doc.bytes(), r.get().as_bytes()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| RequestError::Internal("a record outside its filtered page".into()))?;
        (records, page.next)
    };
    if records.len() != filtered.records.len() {
        // fail closed: the audit would not describe what is released.
        return Err(RequestError::Internal(
            "a page and its audit disagree".into(),
        ));
    }
    Ok(WalkedPage {
        doc,
        records,
        hidden: filtered.dropped.len(),
        audits: filtered.records,
        next,
        skeleton_total,
    })
}

/// May the caller search the collection (its search route's request decision)? Only then
/// is a list pushed down into a search on its behalf.
fn search_permission(step: &Step<'_>, path: &str, ctx: &mut RequestCtx) -> Option<Allowed> {
    let route = step.routes.routes().iter().find(|r| {
        r.body == Operation::Search && r.resource.name == step.route.resource.name && r.path == path
    })?;
    let (decision, allowed) =
        step.engine
            .authorize_request(step.scope, route, &http::Method::POST, path);
    if allowed.is_some() {
        ctx.policies.extend(decision.policies.iter().cloned());
    }
    allowed
}
