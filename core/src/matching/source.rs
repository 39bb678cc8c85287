//! `sourceLabels` and `sourceNamespace` in a match: conditions Istio applies
//! when it builds a proxy's configuration, not per request.

use crate::registry::labels_match;
use std::collections::BTreeMap;

/// Which callers a match is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMatcher {
    /// Labels the calling workload must carry (all of them).
    pub labels: BTreeMap<String, String>,
    /// The namespace the caller must be in (`None`: any).
    pub namespace: Option<String>,
}

impl SourceMatcher {
    /// From a match block's `sourceLabels` and `sourceNamespace` (an empty
    /// namespace means any).
    pub fn new(labels: &BTreeMap<String, String>, namespace: Option<&str>) -> Self {
        SourceMatcher {
            labels: labels.clone(),
            namespace: namespace.filter(|s| !s.is_empty()).map(str::to_string),
        }
    }

    /// Whether the caller's labels satisfy `sourceLabels` (a gateway, with
    /// no labels of a caller, satisfies only an empty list).
    pub fn labels_hold(&self, caller: Option<&BTreeMap<String, String>>) -> bool {
        self.labels.is_empty() || caller.is_some_and(|l| labels_match(&self.labels, l))
    }

    /// Whether `namespace` satisfies `sourceNamespace`.
    pub fn namespace_holds(&self, namespace: &str) -> bool {
        self.namespace.as_deref().is_none_or(|ns| ns == namespace)
    }

    /// Both conditions.
    pub fn holds(&self, labels: Option<&BTreeMap<String, String>>, namespace: &str) -> bool {
        self.labels_hold(labels) && self.namespace_holds(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_a_subset_and_namespace_is_exact() {
        let want: BTreeMap<String, String> = [("app".to_string(), "a".to_string())].into();
        let m = SourceMatcher::new(&want, Some("prod"));
        let mut caller = want.clone();
        caller.insert("version".into(), "v1".into());
        assert!(m.holds(Some(&caller), "prod"));
        assert!(!m.holds(Some(&caller), "dev"));
        assert!(!m.holds(None, "prod"), "a gateway has no caller labels");
        assert!(!m.holds(Some(&BTreeMap::new()), "prod"));
        let any = SourceMatcher::new(&BTreeMap::new(), Some(""));
        assert!(any.holds(None, "anything"));
    }
}
