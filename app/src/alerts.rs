//! Following up alerts: acknowledging one (once, with a note) is an event on the alert, whose
//! actor records who did it.

use facewatch_domain::alert::{Alert, AlertCommand};
use facewatch_projections::queries::{self, AlertView};

use crate::{App, AppError, CommandContext, Result};

impl App {
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), alert = id))]
    pub async fn acknowledge_alert(
        &self,
        ctx: &CommandContext,
        id: i64,
        note: &str,
    ) -> Result<AlertView> {
        crate::input::check_text("note", note)?;
        let alert = queries::alert(self.pool(), id)
            .await?
            .ok_or_else(|| AppError::not_found("alert", &id.to_string()))?;
        let acknowledge = AlertCommand::Acknowledge {
            alert_id: id,
            employee_id: alert.employee_id,
            note: note.to_string(),
            now: ctx.now(),
        };
        let outcome = self
            .execute::<Alert>(ctx, "acknowledge", &id.to_string(), acknowledge)
            .await?;
        self.settle(&[outcome]).await?;
        queries::alert(self.pool(), id)
            .await?
            .ok_or_else(|| AppError::not_found("alert", &id.to_string()))
    }
}
