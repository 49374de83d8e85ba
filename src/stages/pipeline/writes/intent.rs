//! Write-ahead as a type: a write's intent is written to the audit log before the CRM is
//! called, and only that durable write makes the [`DurableIntent`] that forwarding a write
//! takes. Its constructor is private to this module.
//!
//! This module must never make a `DurableIntent` for an intent the audit log did not
//! confirm: without it nothing is forwarded (fail closed).

use crate::audit::AuditEvent;
use crate::error::RequestError;

use super::super::ctx::RequestCtx;
use super::super::shared::Shared;

/// Proof that this request's write intent is durable in the audit log.
#[derive(Debug)]
pub(super) struct DurableIntent(());

/// Write the intent (who writes what, as decided) and wait until it is durable.
/// fail closed: when it is not, the inputs are recorded as not sent and the write ends.
pub(super) async fn make_durable(
    sh: &Shared,
    request_id: &str,
    ctx: &mut RequestCtx,
) -> Result<DurableIntent, RequestError> {
    let intent = ctx.write_intent();
    if let Err(e) = sh
        .audit
        .write(AuditEvent::WriteIntent(Box::new(intent)))
        .await
    {
        tracing::error!(request_id = %request_id, error = %e, "write intent not durable; the write is not forwarded");
        return Err(ctx.unsent(RequestError::AuditUnavailable));
    }
    Ok(DurableIntent(()))
}
