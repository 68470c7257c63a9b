//! `remediate --manifests DIR --open-fix-pr`: the plan's fixes written into the manifests the live
//! objects were deployed from, and proposed as one pull request.

use anyhow::bail;

use super::Remediation;
use super::cli::RemediateArgs;
use crate::audit::{Audit, RunOptions};
use crate::config::Config;
use crate::model::Object;
use crate::settings::Status;

/// Opens (or updates) the fix pull request.
///
/// # Errors
/// When the repository, token or files are missing.
pub(super) fn open_fix_pr(
    _a: &RemediateArgs,
    _config: &Config,
    _run_opts: &RunOptions,
    _audit: &mut Audit,
    _objects: &[Object],
    _r: &mut Remediation,
) -> anyhow::Result<Status> {
    bail!("--open-fix-pr is not available yet")
}
