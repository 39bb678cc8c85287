//! "Did you mean ...?" for misspelt field and value names.

/// The candidate closest to `word` by edit distance, if close enough to be a
/// likely typo (at most 1 edit for short words, 2 for longer, 3 for long ones;
/// case differences count as half an edit so `Weight` finds `weight`).
pub(crate) fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let max = match word.chars().count() {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    } * 2;
    candidates
        .into_iter()
        .map(|c| (distance2(word, c), c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Twice the Damerau-Levenshtein (optimal string alignment) distance, with a
/// case-only substitution costing 1 (half an edit).
fn distance2(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 8 || a.len() > 256 || b.len() > 256 {
        return usize::MAX;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i * 2;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j * 2;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let sub = if a[i - 1] == b[j - 1] {
                0
            } else if a[i - 1].eq_ignore_ascii_case(&b[j - 1]) {
                1
            } else {
                2
            };
            let mut v = (d[(i - 1) * w + j] + 2)
                .min(d[i * w + j - 1] + 2)
                .min(d[(i - 1) * w + j - 1] + sub);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 2);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_typos() {
        let fields = ["destination", "weight", "headers"];
        assert_eq!(did_you_mean("wieght", fields), Some("weight"));
        assert_eq!(did_you_mean("Weight", fields), Some("weight"));
        assert_eq!(did_you_mean("destinaton", fields), Some("destination"));
        assert_eq!(did_you_mean("header", fields), Some("headers"));
    }

    #[test]
    fn does_not_guess_wildly() {
        let fields = ["destination", "weight", "headers"];
        assert_eq!(did_you_mean("timeout", fields), None);
        assert_eq!(did_you_mean("x", fields), None);
    }
}
