//! Which rules run: `--select`/`--ignore` entries (and the configuration's `select`/`ignore`)
//! matched against the registry by id, name, area, id prefix or `all`.

use super::{Rule, RuleSettings, registry};
use crate::model::Area;

/// Whether a select/ignore entry names a rule, a rule name, an area, an id prefix or `all`.
#[must_use]
pub fn selector_is_known(s: &str) -> bool {
    s.eq_ignore_ascii_case("all") || Area::parse(s).is_some() || super::find(s).is_some() || prefix_matches(s)
}

fn prefix_matches(s: &str) -> bool {
    s.len() >= 3 && registry().iter().any(|r| r.meta().id.starts_with(&s.to_ascii_uppercase()))
}

/// Whether a select/ignore entry covers a rule.
#[must_use]
pub fn selector_hits(sel: &str, rule: &dyn Rule) -> bool {
    let m = rule.meta();
    sel.eq_ignore_ascii_case("all")
        || m.id.eq_ignore_ascii_case(sel)
        || m.name == sel
        || m.area.as_str().eq_ignore_ascii_case(sel)
        || (sel.len() >= 3 && m.id.starts_with(&sel.to_ascii_uppercase()))
}

/// The rules that run, in id order: the `select`ed ones (or, when nothing is selected, those on
/// by default or turned on by `settings`), minus every `ignore`d one.
#[must_use]
pub fn select<'a>(
    select: &[String],
    ignore: impl Iterator<Item = &'a String> + Clone,
    settings: &RuleSettings,
) -> Vec<&'static dyn Rule> {
    registry()
        .iter()
        .copied()
        .filter(|r| {
            if select.is_empty() {
                r.meta().default_enabled || r.enabled_by_settings(settings)
            } else {
                select.iter().any(|s| selector_hits(s, *r))
            }
        })
        .filter(|r| !ignore.clone().any(|s| selector_hits(s, *r)))
        .collect()
}
