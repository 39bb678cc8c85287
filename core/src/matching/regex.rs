//! RE2-compatible full-match regular expressions over the `regex` crate.
//!
//! Envoy matches `safe_regex` with Google RE2 against the **whole** subject,
//! and Istio validates patterns with Go's `regexp` (RE2 syntax). [`Re2Regex`]
//! gives the same answers:
//!
//! * It is truly anchored: the pattern is compiled as `\A(?:pattern)\z`, so
//!   `/foo|/foo/bar` matches `/foo/bar` and `/a.*?` matches `/abc` (a check of
//!   the bounds of a leftmost-first `find` gets both wrong).
//! * The pattern is first translated from RE2 syntax into `regex` syntax, so
//!   that constructs both accept mean the same thing:
//!   * `\d \w \s \b` (and `\D \W \S \B`) are ASCII-only, as in RE2 (`\s` is
//!     `[\t\n\f\r ]`, without `\v`);
//!   * octal escapes `\0`, `\012`, `\12` are read as Go does; `\1`..`\7` alone
//!     are backreferences and refused;
//!   * `\Q...\E` quotes literally;
//!   * an escaped punctuation character is that literal character (`\<` and
//!     `\>` are `<` and `>`, not the word boundaries `regex` would read);
//!   * inside a class, `[` (other than `[:alpha:]`), `&` and `~` are literals,
//!     never `regex`'s nested classes or set operations;
//!   * a `{` that does not start a valid `{n}`, `{n,}`, `{n,m}` is a literal;
//!     repeat counts above 1000 are refused, as in RE2.
//! * Constructs RE2 refuses are errors that say why and mention RE2:
//!   lookaround, backreferences, atomic/possessive groups, comments, flags
//!   other than `imsU`, JavaScript `/pattern/flags` literals, and `*` alone.
//! * Size is bounded: at most [`MAX_REGEX_LEN`] bytes of pattern and
//!   [`MAX_REGEX_PROGRAM_BYTES`] of compiled program; compile and match time
//!   are linear (no backtracking), so nothing panics or hangs.
//!
//! Known remaining differences (documented, rare in route matching):
//! Unicode class names (`\p{...}`): `regex` accepts long names and
//! `\p{Script=Greek}` which RE2 refuses; `(?i)` case folding uses Unicode
//! simple folding in both but tables may differ by Unicode version; a `--`
//! inside a class is refused here (RE2's reading depends on position);
//! `\pN` for one-letter categories, `[[:word:]]` and the `U` flag behave alike.

use crate::fasthash::FastMap;
use crate::limits::{MAX_REGEX_LEN, MAX_REGEX_PROGRAM_BYTES};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Suffix Istio appends to every regex compile error.
const RE2_HINT: &str =
    "Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)";

/// RE2's largest repeat count.
const MAX_REPEAT: u32 = 1000;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// Longer than Istio's 1024-byte limit.
    #[error("regex is too large, max length allowed is {MAX_REGEX_LEN}")]
    TooLong,
    /// Compiles to a program larger than the configured limit.
    #[error("regex program is too large (compiled size exceeds {MAX_REGEX_PROGRAM_BYTES} bytes); simplify it or reduce repetition counts")]
    ProgramTooLarge,
    /// Not valid RE2 syntax; the text explains what and why.
    #[error("error parsing regexp: {0}; {hint}", hint = RE2_HINT)]
    Syntax(String),
}

fn syntax<T>(msg: impl Into<String>) -> Result<T, RegexError> {
    Err(RegexError::Syntax(msg.into()))
}

/// A compiled RE2-compatible regular expression that matches only whole
/// strings. Compile once, match many times; matching does not allocate.
/// Clones share one compiled program.
#[derive(Clone)]
pub struct Re2Regex {
    program: Arc<Program>,
}

/// What a [`Re2Regex`] shares between its clones.
struct Program {
    pattern: String,
    compiled: regex::Regex,
    /// Bytes every full match starts with (often empty): checked before the
    /// regex engine runs, which answers most non-matching paths at once.
    required_prefix: Box<[u8]>,
    /// When the whole pattern is that prefix followed by one repeated
    /// character class (`/users/[0-9]+`, `/api/.*`), the class and bounds:
    /// matched directly, without the engine.
    prefix_then_class: Option<ClassTail>,
}

/// `prefix` + `class{min,max}`: the tail of a pattern matched without the engine.
#[derive(Clone, Debug)]
struct ClassTail {
    /// The literal before the class (every match starts with it).
    literal: Box<[u8]>,
    class: regex_syntax::hir::ClassUnicode,
    min: u32,
    max: Option<u32>,
}

impl ClassTail {
    fn matches(&self, tail: &str) -> bool {
        let mut count: u32 = 0;
        for c in tail.chars() {
            if !self
                .class
                .ranges()
                .iter()
                .any(|r| r.start() <= c && c <= r.end())
            {
                return false;
            }
            count = count.saturating_add(1);
        }
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl fmt::Debug for Re2Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Re2Regex")
            .field(&self.program.pattern)
            .finish()
    }
}

impl PartialEq for Re2Regex {
    fn eq(&self, other: &Self) -> bool {
        self.program.pattern == other.program.pattern
    }
}

impl Eq for Re2Regex {}

impl Re2Regex {
    /// Compiles `pattern` (RE2 syntax) for full matching.
    pub fn new(pattern: &str) -> Result<Re2Regex, RegexError> {
        if pattern.len() > MAX_REGEX_LEN {
            return Err(RegexError::TooLong);
        }
        if pattern == "*" {
            return syntax(
                "missing argument to repetition operator: `*` (\"*\" alone is not a valid RE2 pattern; use \".*\" to match anything)",
            );
        }
        if let Some(why) = javascript_literal(pattern) {
            return syntax(why);
        }
        let translated = translate(pattern)?;
        let mut program = Program::build(pattern, &format!(r"\A(?:{translated})\z"))?;
        // One parse of the pattern serves both shortcuts.
        if let Ok(hir) = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&translated)
        {
            program.required_prefix = required_prefix(&hir);
            program.prefix_then_class = prefix_then_class(&hir);
        }
        Ok(Re2Regex {
            program: Arc::new(program),
        })
    }

    /// Compiles `pattern` (RE2 syntax) for searching: [`Re2Regex::replace_all`]
    /// replaces every match, as Envoy's `regex_rewrite` does.
    pub fn new_search(pattern: &str) -> Result<Re2Regex, RegexError> {
        if pattern.len() > MAX_REGEX_LEN {
            return Err(RegexError::TooLong);
        }
        if let Some(why) = javascript_literal(pattern) {
            return syntax(why);
        }
        let translated = translate(pattern)?;
        Ok(Re2Regex {
            program: Arc::new(Program::build(pattern, &translated)?),
        })
    }
}

impl Program {
    fn build(pattern: &str, program: &str) -> Result<Program, RegexError> {
        let compiled = regex::RegexBuilder::new(program)
            .size_limit(MAX_REGEX_PROGRAM_BYTES)
            .dfa_size_limit(MAX_REGEX_PROGRAM_BYTES * 2)
            .nest_limit(250)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => RegexError::ProgramTooLarge,
                regex::Error::Syntax(msg) => RegexError::Syntax(first_error_line(&msg)),
                other => RegexError::Syntax(other.to_string()),
            })?;
        Ok(Program {
            pattern: pattern.to_string(),
            compiled,
            required_prefix: Box::default(),
            prefix_then_class: None,
        })
    }
}

impl Re2Regex {
    /// True when the whole of `subject` matches.
    pub fn is_match(&self, subject: &str) -> bool {
        let program = &*self.program;
        if !subject.as_bytes().starts_with(&program.required_prefix) {
            return false;
        }
        match &program.prefix_then_class {
            Some(tail) => {
                let rest = subject
                    .as_bytes()
                    .starts_with(&tail.literal)
                    .then(|| subject.get(tail.literal.len()..))
                    .flatten();
                rest.is_some_and(|rest| tail.matches(rest))
            }
            None => program.compiled.is_match(subject),
        }
    }

    /// `subject` with every non-overlapping match replaced by `replacement`
    /// (the regex crate's syntax: `${1}` for a group).
    pub fn replace_all<'s>(&self, subject: &'s str, replacement: &str) -> Cow<'s, str> {
        self.program.compiled.replace_all(subject, replacement)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.program.pattern
    }

    /// The anchored pattern in the `regex` crate's syntax, for building a
    /// `regex::RegexSet` that matches exactly as this regex does.
    pub fn compiled_pattern(&self) -> &str {
        self.program.compiled.as_str()
    }

    /// Whether `self` and `other` are one compiled program (clones, or
    /// handed out for one pattern by a [`RegexCache`]).
    #[cfg(test)]
    pub(crate) fn shares_program_with(&self, other: &Re2Regex) -> bool {
        Arc::ptr_eq(&self.program, &other.program)
    }
}

/// Compiled regexes by pattern text while a configuration compiles, so that
/// textually equal patterns (a path regex repeated across VirtualServices)
/// are compiled once and share one program.
#[derive(Debug, Default)]
pub(crate) struct RegexCache {
    full: FastMap<Box<str>, Result<Re2Regex, RegexError>>,
    search: FastMap<Box<str>, Result<Re2Regex, RegexError>>,
    requested: usize,
}

impl RegexCache {
    /// [`Re2Regex::new`], compiled once per distinct pattern.
    pub fn full_match(&mut self, pattern: &str) -> Result<Re2Regex, RegexError> {
        self.requested += 1;
        Self::get_or_compile(&mut self.full, pattern, Re2Regex::new)
    }

    /// [`Re2Regex::new_search`], compiled once per distinct pattern.
    pub fn search(&mut self, pattern: &str) -> Result<Re2Regex, RegexError> {
        self.requested += 1;
        Self::get_or_compile(&mut self.search, pattern, Re2Regex::new_search)
    }

    fn get_or_compile(
        map: &mut FastMap<Box<str>, Result<Re2Regex, RegexError>>,
        pattern: &str,
        compile: fn(&str) -> Result<Re2Regex, RegexError>,
    ) -> Result<Re2Regex, RegexError> {
        if let Some(done) = map.get(pattern) {
            return done.clone();
        }
        let done = compile(pattern);
        map.insert(pattern.into(), done.clone());
        done
    }

    /// How many regexes were asked for.
    #[cfg(test)]
    pub fn requested(&self) -> usize {
        self.requested
    }

    /// How many distinct patterns were compiled.
    #[cfg(test)]
    pub fn distinct(&self) -> usize {
        self.full.len() + self.search.len()
    }
}

/// The longest byte string every match of the parsed pattern starts with:
/// the common prefix of
/// its finite prefix-literal set; empty when there is none or when the
/// set is infinite (no requirement then).
fn required_prefix(hir: &regex_syntax::hir::Hir) -> Box<[u8]> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    match seq.longest_common_prefix() {
        Some(prefix) if seq.is_finite() => prefix.into(),
        _ => Box::default(),
    }
}

/// `Some` when the parsed pattern is exactly a literal followed by one
/// repetition of a character class, possibly inside
/// capture groups: e.g. `/users/5/[0-9]+`, `/api/.*`.
fn prefix_then_class(hir: &regex_syntax::hir::Hir) -> Option<ClassTail> {
    use regex_syntax::hir::{Class, HirKind};
    let unwrap = |mut h: &regex_syntax::hir::Hir| {
        while let HirKind::Capture(c) = h.kind() {
            h = &c.sub;
        }
        h.clone()
    };
    let hir = unwrap(hir);
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    let [literal, repeated] = parts.as_slice() else {
        return None;
    };
    let literal = unwrap(literal);
    let HirKind::Literal(literal) = literal.kind() else {
        return None;
    };
    let repeated = unwrap(repeated);
    let HirKind::Repetition(rep) = repeated.kind() else {
        return None;
    };
    let sub = unwrap(&rep.sub);
    let HirKind::Class(Class::Unicode(class)) = sub.kind() else {
        return None;
    };
    Some(ClassTail {
        literal: literal.0.clone(),
        class: class.clone(),
        min: rep.min,
        max: rep.max,
    })
}

/// The last non-empty line of a `regex` syntax error (the explanation; the
/// earlier lines draw the pattern with a caret, which would show our anchors).
fn first_error_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_string())
        .unwrap_or_else(|| msg.to_string())
}

/// A JavaScript regex literal `/body/flags` that cannot be meant as a path
/// pattern: the body starts with `^` or ends with `$`, which after a literal
/// `/` (or before one) can never match without the `m` flag.
fn javascript_literal(pattern: &str) -> Option<String> {
    let inner = pattern.strip_prefix('/')?;
    let slash = inner.rfind('/')?;
    let (body, flags) = (&inner[..slash], &inner[slash + 1..]);
    let flags_ok = !flags.is_empty()
        && flags.chars().all(|c| "gimsuy".contains(c))
        && flags
            .chars()
            .enumerate()
            .all(|(i, c)| !flags[..i].contains(c));
    let anchored = body.starts_with('^') || (body.ends_with('$') && !body.ends_with("\\$"));
    if flags_ok && anchored {
        Some(format!(
            "{pattern:?} looks like a JavaScript regex literal (/pattern/{flags}); RE2 patterns have no delimiters or trailing flags: write the pattern alone, with (?i) for case-insensitivity"
        ))
    } else {
        None
    }
}

/// Appends `c` as a literal that means the same inside or outside a class.
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    }
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = "\\t\\n\\x{C}\\r ";

/// Where the translator stands with respect to repetition operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// The previous item is not a repetition.
    None,
    /// The previous item is a repetition (`*`, `+`, `?`, `{n,m}`).
    Greedy,
    /// The previous item is a lazy repetition (`*?`...).
    Lazy,
}

/// Translates RE2 syntax into equivalent `regex` syntax, refusing what RE2
/// refuses.
fn translate(pattern: &str) -> Result<String, RegexError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut depth: usize = 0;
    // Whether the previous item can take a repetition operator, and whether it
    // already is one (RE2 refuses `a**`, `a*+`; `a*?` is lazy).
    let mut can_repeat = false;
    let mut repeat = Repeat::None;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let (next_i, emitted) = translate_escape(&chars, i, false, &mut out)?;
                i = next_i;
                can_repeat = emitted;
                repeat = Repeat::None;
                continue;
            }
            '[' => {
                i = translate_class(&chars, i, &mut out)?;
                can_repeat = true;
                repeat = Repeat::None;
                continue;
            }
            '(' => {
                let (next, opened) = translate_group_open(&chars, i, &mut out)?;
                i = next;
                if opened {
                    depth += 1;
                }
                can_repeat = false;
                repeat = Repeat::None;
                continue;
            }
            ')' => {
                if depth == 0 {
                    return syntax(format!("unexpected ): `{pattern}`"));
                }
                depth -= 1;
                out.push(')');
                can_repeat = true;
            }
            '|' => {
                out.push('|');
                can_repeat = false;
            }
            '*' | '+' | '?' => {
                if repeat != Repeat::None {
                    // One `?` right after a repetition makes it lazy; anything
                    // else is a nested (or possessive) repetition RE2 refuses.
                    let lazy_marker = c == '?' && repeat == Repeat::Greedy;
                    if !lazy_marker {
                        let what = if c == '+' {
                            "possessive quantifiers (`*+`, `++`, `?+`) are not supported by RE2"
                        } else {
                            "invalid nested repetition operator"
                        };
                        return syntax(format!("{what}: `{}`", context(&chars, i)));
                    }
                    out.push('?');
                    repeat = Repeat::Lazy;
                    i += 1;
                    continue;
                }
                if !can_repeat {
                    return syntax(format!("missing argument to repetition operator: `{c}`"));
                }
                out.push(c);
                repeat = Repeat::Greedy;
                i += 1;
                continue;
            }
            '{' => match parse_repeat(&chars, i)? {
                Some((end, text)) => {
                    if repeat != Repeat::None {
                        return syntax(format!(
                            "invalid nested repetition operator: `{}`",
                            context(&chars, i)
                        ));
                    }
                    if !can_repeat {
                        return syntax(format!(
                            "missing argument to repetition operator: `{text}`"
                        ));
                    }
                    out.push_str(&text);
                    i = end;
                    repeat = Repeat::Greedy;
                    continue;
                }
                None => {
                    push_literal(&mut out, '{');
                    can_repeat = true;
                }
            },
            '}' | ']' => {
                push_literal(&mut out, c);
                can_repeat = true;
            }
            '^' | '$' | '.' => {
                out.push(c);
                can_repeat = true;
            }
            '#' | '&' | '~' | '-' | ' ' => {
                // Literal in RE2; escaped so no `regex` mode can reinterpret them.
                push_literal(&mut out, c);
                can_repeat = true;
            }
            _ => {
                out.push(c);
                can_repeat = true;
            }
        }
        repeat = Repeat::None;
        i += 1;
    }
    if depth != 0 {
        return syntax(format!("missing closing ): `{pattern}`"));
    }
    Ok(out)
}

/// A short excerpt of the pattern around `i`, for error messages.
fn context(chars: &[char], i: usize) -> String {
    let start = i.saturating_sub(2);
    chars
        .get(start..(i + 1).min(chars.len()))
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// Parses `{n}`, `{n,}`, `{n,m}` at `i`. `Ok(None)` means the brace is a
/// literal (RE2 reads an invalid repeat as literal text).
fn parse_repeat(chars: &[char], i: usize) -> Result<Option<(usize, String)>, RegexError> {
    let mut j = i + 1;
    let read_num = |j: &mut usize| -> Option<String> {
        let start = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        (*j > start).then(|| chars[start..*j].iter().collect())
    };
    let Some(min) = read_num(&mut j) else {
        return Ok(None);
    };
    let mut max: Option<Option<String>> = None; // None: `{n}`; Some(None): `{n,}`
    if chars.get(j) == Some(&',') {
        j += 1;
        max = Some(read_num(&mut j));
    }
    if chars.get(j) != Some(&'}') {
        return Ok(None);
    }
    j += 1;
    let text: String = chars[i..j].iter().collect();
    let bad = || syntax(format!("invalid repeat count: `{text}`"));
    let min_v: u32 = match min.parse() {
        Ok(v) if v <= MAX_REPEAT => v,
        _ => return bad(),
    };
    if let Some(Some(max)) = &max {
        match max.parse::<u32>() {
            Ok(v) if v <= MAX_REPEAT && v >= min_v => {}
            _ => return bad(),
        }
    }
    Ok(Some((j, text)))
}

/// Translates a group opener at `i` (`(`, `(?:`, `(?P<n>`, `(?<n>`, `(?i)`,
/// `(?i:`), refusing Perl extensions RE2 lacks. Returns the next index and
/// whether a group was opened (a bare flag setting `(?i)` opens none).
fn translate_group_open(
    chars: &[char],
    i: usize,
    out: &mut String,
) -> Result<(usize, bool), RegexError> {
    if chars.get(i + 1) != Some(&'?') {
        out.push('(');
        return Ok((i + 1, true));
    }
    let rest: String = chars
        .get(i + 2..)
        .map(|s| s.iter().take(4).collect())
        .unwrap_or_default();
    let refuse = |what: &str| {
        syntax(format!(
            "invalid or unsupported Perl syntax: `(?{}`: {what} is not supported by RE2",
            rest.chars().take(2).collect::<String>()
        ))
    };
    if rest.starts_with('=') || rest.starts_with('!') {
        return refuse("lookahead");
    }
    if rest.starts_with("<=") || rest.starts_with("<!") {
        return refuse("lookbehind");
    }
    if rest.starts_with('>') {
        return refuse("an atomic group");
    }
    if rest.starts_with('#') {
        return refuse("an inline comment");
    }
    if rest.starts_with("P=") || rest.starts_with("P>") || rest.starts_with('&') {
        return refuse("a named backreference or recursion");
    }
    if rest.starts_with('|') {
        return refuse("a branch-reset group");
    }
    if rest.starts_with("P<") || rest.starts_with('<') {
        // Named group `(?P<name>` / `(?<name>`: copied after checking the name.
        let open = if rest.starts_with('P') { i + 3 } else { i + 2 };
        let close = chars
            .get(open..)
            .and_then(|s| s.iter().position(|&c| c == '>'))
            .map(|p| open + p);
        let name_ok = close.is_some_and(|close| {
            close > open + 1
                && chars
                    .get(open + 1..close)
                    .is_some_and(|n| n.iter().all(|c| c.is_alphanumeric() || *c == '_'))
        });
        match close {
            Some(close) if name_ok => {
                out.push('(');
                out.extend(chars.get(i + 1..=close).unwrap_or_default());
                return Ok((close + 1, true));
            }
            _ => return syntax(format!("invalid named capture: `{}`", context(chars, open))),
        }
    }
    // Flag group: [imsU-]+ then ')' or ':'.
    let mut j = i + 2;
    let mut flags = String::new();
    while let Some(&c) = chars.get(j) {
        if c == ')' || c == ':' {
            break;
        }
        if !matches!(c, 'i' | 'm' | 's' | 'U' | '-') {
            return syntax(format!(
                "invalid or unsupported Perl syntax: `(?{flags}{c}`: RE2 flags are i, m, s and U only"
            ));
        }
        flags.push(c);
        j += 1;
    }
    let Some(&end) = chars.get(j) else {
        return syntax("missing closing ): `(?`");
    };
    let dash_ok = flags.matches('-').count() <= 1
        && !flags.ends_with('-')
        && (!flags.is_empty() || end == ':');
    if !dash_ok {
        return syntax(format!(
            "invalid or unsupported Perl syntax: `(?{flags}{end}`"
        ));
    }
    out.push_str("(?");
    out.push_str(&flags);
    out.push(end);
    // `(?i)` sets flags and opens nothing; `(?i:` opens a group.
    Ok((j + 1, end == ':'))
}

/// Translates the escape at `chars[i] == '\\'`. Returns the next index and
/// whether the emitted item can take a repetition operator.
fn translate_escape(
    chars: &[char],
    i: usize,
    in_class: bool,
    out: &mut String,
) -> Result<(usize, bool), RegexError> {
    let Some(&c) = chars.get(i + 1) else {
        return syntax("trailing backslash at end of expression");
    };
    let next = i + 2;
    match c {
        'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
            let set = match c.to_ascii_lowercase() {
                'd' => ASCII_DIGIT,
                'w' => ASCII_WORD,
                _ => ASCII_SPACE,
            };
            match (in_class, c.is_ascii_uppercase()) {
                (true, false) => out.push_str(set),
                (_, true) => out.push_str(&format!("[^{set}]")),
                (false, false) => out.push_str(&format!("[{set}]")),
            }
            Ok((next, true))
        }
        'b' | 'B' if !in_class => {
            out.push_str(if c == 'b' { r"(?-u:\b)" } else { r"(?-u:\B)" });
            Ok((next, true))
        }
        'A' | 'z' if !in_class => {
            out.push('\\');
            out.push(c);
            Ok((next, true))
        }
        'Q' if !in_class => {
            let mut j = next;
            while let Some(&q) = chars.get(j) {
                if q == '\\' && chars.get(j + 1) == Some(&'E') {
                    return Ok((j + 2, true));
                }
                // Each quoted character is one literal; wrap so a following
                // repetition applies to the last one only, as in RE2.
                push_literal(out, q);
                j += 1;
            }
            Ok((j, true))
        }
        'E' if !in_class => Ok((next, false)), // a stray \E is ignored by RE2
        '0'..='7' => {
            // Go: a lone \1-\7 is a backreference; otherwise up to three octal
            // digits (the first may be 0).
            let following = chars.get(next).copied();
            if c != '0' && !following.is_some_and(|d| ('0'..='7').contains(&d)) {
                return syntax(format!(
                    "invalid escape sequence: `\\{c}`: backreferences are not supported by RE2"
                ));
            }
            let mut value = c.to_digit(8).unwrap_or(0);
            let mut j = next;
            while j < i + 4 {
                match chars.get(j).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        value = value * 8 + d;
                        j += 1;
                    }
                    None => break,
                }
            }
            out.push_str(&format!("\\x{{{value:X}}}"));
            Ok((j, true))
        }
        '8' | '9' => syntax(format!("invalid escape sequence: `\\{c}`")),
        'x' => {
            // \xHH or \x{H...}: copied after checking the shape.
            if chars.get(next) == Some(&'{') {
                let mut j = next + 1;
                while chars.get(j).is_some_and(char::is_ascii_hexdigit) {
                    j += 1;
                }
                if j == next + 1 || chars.get(j) != Some(&'}') {
                    return syntax(format!("invalid escape sequence: `{}`", context(chars, j)));
                }
                out.extend(&chars[i..=j]);
                Ok((j + 1, true))
            } else {
                let hex = chars.get(next..next + 2);
                match hex {
                    Some(h) if h.iter().all(char::is_ascii_hexdigit) => {
                        out.extend(&chars[i..next + 2]);
                        Ok((next + 2, true))
                    }
                    _ => syntax("invalid escape sequence: `\\x`"),
                }
            }
        }
        'p' | 'P' => {
            // \pL or \p{Name}: copied.
            if chars.get(next) == Some(&'{') {
                let mut j = next + 1;
                while chars.get(j).is_some_and(|&x| x != '}') {
                    j += 1;
                }
                if chars.get(j).is_none() {
                    return syntax(format!("invalid character class range: `\\{c}{{`"));
                }
                out.extend(&chars[i..=j]);
                Ok((j + 1, true))
            } else {
                match chars.get(next) {
                    Some(&l) if l.is_ascii_alphabetic() => {
                        out.extend(&chars[i..=next]);
                        Ok((next + 1, true))
                    }
                    _ => syntax(format!("invalid character class range: `\\{c}`")),
                }
            }
        }
        'a' | 'f' | 't' | 'n' | 'r' | 'v' => {
            out.push('\\');
            out.push(c);
            Ok((next, true))
        }
        _ if c.is_ascii_punctuation() => {
            push_literal(out, c);
            Ok((next, true))
        }
        _ => syntax(format!("invalid escape sequence: `\\{c}`")),
    }
}

/// Translates a character class starting at `chars[i] == '['`. Returns the
/// index after its closing `]`.
fn translate_class(chars: &[char], i: usize, out: &mut String) -> Result<usize, RegexError> {
    out.push('[');
    let mut j = i + 1;
    if chars.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(j) else {
            return syntax(format!(
                "missing closing ]: `{}`",
                chars[i..].iter().collect::<String>()
            ));
        };
        match c {
            ']' if !first => {
                out.push(']');
                return Ok(j + 1);
            }
            '[' if chars.get(j + 1) == Some(&':') => {
                // POSIX class [:name:] / [:^name:], copied.
                let start = j;
                let mut k = j + 2;
                while chars.get(k).is_some_and(|&x| x != ']') {
                    k += 1;
                }
                // Only a `]` actually present closes the class name (`[[:?:` at the end does not).
                let closes =
                    chars.get(k) == Some(&']') && chars.get(k - 1) == Some(&':') && k > start + 2;
                if closes {
                    out.extend(&chars[start..=k]);
                    j = k + 1;
                } else {
                    push_literal(out, '[');
                    j += 1;
                }
            }
            '\\' => {
                let (next, _) = translate_escape(chars, j, true, out)?;
                j = next;
            }
            '-' if chars.get(j + 1) == Some(&'-') => {
                return syntax(
                    "`--` inside a character class is ambiguous between RE2 and this engine; escape it as `\\-`",
                );
            }
            '-' => {
                out.push('-');
                j += 1;
            }
            _ => {
                push_literal(out, c);
                j += 1;
            }
        }
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn re(p: &str) -> Re2Regex {
        match Re2Regex::new(p) {
            Ok(r) => r,
            Err(e) => panic!("{p:?} should compile: {e}"),
        }
    }

    fn err(p: &str) -> String {
        match Re2Regex::new(p) {
            Ok(_) => panic!("{p:?} should be refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_regex_cache_compiles_each_distinct_pattern_once() {
        let mut cache = RegexCache::default();
        let a = cache.full_match("/api/v[0-9]+").unwrap();
        let b = cache.full_match("/api/v[0-9]+").unwrap();
        let other = cache.full_match("/api/x[0-9]+").unwrap();
        let search = cache.search("/api/v[0-9]+").unwrap();
        assert!(a.shares_program_with(&b));
        assert!(!a.shares_program_with(&other));
        // A search program is not anchored: never shared with a full match.
        assert!(!a.shares_program_with(&search));
        assert!(search.replace_all("/api/v1/api/v2", "x") == "xx");
        assert!(a.is_match("/api/v12") && !a.is_match("/api/v12/x"));
        // An invalid pattern is refused each time it is asked for, alike.
        assert_eq!(cache.full_match("(?=x)"), cache.full_match("(?=x)"));
        assert_eq!((cache.requested(), cache.distinct()), (6, 4));
    }

    #[test]
    fn a_literal_start_is_required_before_the_engine_runs() {
        let prefix = |p: &str| Re2Regex::new(p).unwrap().program.required_prefix.to_vec();
        assert_eq!(prefix("/users/5/[0-9]+"), b"/users/5/");
        assert_eq!(prefix("/api/(v1|v2)/x"), b"/api/v");
        assert_eq!(prefix("/a.*"), b"/a");
        assert_eq!(prefix(".*/x"), b"");
        assert_eq!(prefix("(?i)/abc"), b"/"); // `/` has no case
        assert_eq!(prefix("/foo|/foo/bar"), b"/foo");
        let r = Re2Regex::new("/users/5/[0-9]+").unwrap();
        assert!(r.is_match("/users/5/123"));
        assert!(!r.is_match("/users/6/123"));
        assert!(!r.is_match("/users/5/"));
    }

    #[test]
    fn a_literal_then_a_repeated_class_is_matched_without_the_engine() {
        let patterns = [
            "/users/5/[0-9]+",
            "/api/.*",
            "/a[b-c]{1,2}",
            "(/x)([^/]*)",
            "/é[a-z]?",
            "/b[0-9]{2}",
        ];
        let subjects = [
            "",
            "/",
            "/users/5/",
            "/users/5/123",
            "/users/5/12a",
            "/api/",
            "/api/x\ny",
            "/api/é",
            "/ab",
            "/abc",
            "/abcb",
            "/a",
            "/x",
            "/x/y",
            "/xyz",
            "/é",
            "/éz",
            "/ézz",
            "/b1",
            "/b12",
            "/b123",
            "/users/5/1\n",
        ];
        for p in patterns {
            let r = Re2Regex::new(p).unwrap();
            assert!(
                r.program.prefix_then_class.is_some(),
                "{p} takes the direct path"
            );
            for s in subjects {
                assert_eq!(
                    r.is_match(s),
                    r.program.compiled.is_match(s),
                    "{p} on {s:?}"
                );
            }
        }
        assert!(Re2Regex::new("/a(bc)+")
            .unwrap()
            .program
            .prefix_then_class
            .is_none());
        assert!(Re2Regex::new("(?i)/a[0-9]+")
            .unwrap()
            .program
            .prefix_then_class
            .is_none());
    }

    #[test]
    fn full_match_is_truly_anchored() {
        assert!(re("/foo|/foo/bar").is_match("/foo/bar"));
        assert!(re("/foo|/foo/bar").is_match("/foo"));
        assert!(!re("/foo|/foo/bar").is_match("/foo/ba"));
        assert!(re("/a.*?").is_match("/abc"));
        assert!(!re("/api").is_match("/api/v1"));
        assert!(!re("api").is_match("/api"));
        assert!(re("a|b").is_match("b"));
        assert!(!re("a|b").is_match("ab"));
        assert!(re("").is_match(""));
        assert!(!re("").is_match("x"));
    }

    #[test]
    fn perl_classes_are_ascii_as_in_re2() {
        assert!(re(r"\d+").is_match("0123456789"));
        assert!(!re(r"\d").is_match("\u{661}")); // ARABIC-INDIC DIGIT ONE
        assert!(re(r"\D").is_match("\u{661}"));
        assert!(!re(r"\w").is_match("é"));
        assert!(re(r"\W").is_match("é"));
        assert!(re(r"[\d_]+").is_match("1_2"));
        assert!(!re(r"[\d]").is_match("\u{661}"));
        assert!(re(r"[\D]").is_match("x"));
        assert!(!re(r"\s").is_match("\u{b}")); // \v is not in RE2's \s
        assert!(!re(r"\s").is_match("\u{a0}"));
        assert!(re(r"\s").is_match("\t"));
        assert!(re(r".*\bfoo\b.*").is_match("a foo b"));
        // é is not a word character for RE2's ASCII \b: boundary between é and f.
        assert!(re(r"é\bfoo").is_match("éfoo"));
        assert!(!re(r"a\bfoo").is_match("afoo"));
    }

    #[test]
    fn re2_escapes_mean_what_re2_means() {
        assert!(re(r"\<a\>").is_match("<a>"));
        assert!(re(r"\/api\/v1").is_match("/api/v1"));
        assert!(re(r"a\.b").is_match("a.b"));
        assert!(!re(r"a\.b").is_match("axb"));
        assert!(re(r"\Qa.b*\E+").is_match("a.b**"));
        assert!(!re(r"\Qa.b\E").is_match("axb"));
        assert!(re(r"\012").is_match("\n"));
        assert!(re(r"\0").is_match("\0"));
        assert!(re(r"\x41\x{42}").is_match("AB"));
        assert!(re(r"\pL+").is_match("héllo"));
        assert!(re(r"[[:alpha:]]+").is_match("abc"));
        assert!(re(r"[a[]+").is_match("a[a"));
        assert!(re(r"[a&&b]+").is_match("a&b"));
        assert!(re(r"[a~~b]+").is_match("~"));
        assert!(re(r"[]a]+").is_match("]a"));
        assert!(re(r"a{,3}").is_match("a{,3}"));
        assert!(re(r"a{2}").is_match("aa"));
        assert!(re(r"x{").is_match("x{"));
        assert!(re(r"a}").is_match("a}"));
        assert!(re(r"(?i)abc").is_match("ABC"));
        assert!(re(r"(?i:a)b").is_match("Ab"));
        assert!(!re(r"(?i:a)b").is_match("AB"));
        assert!(re(r"(?P<x>a)(?<y>b)").is_match("ab"));
        assert!(re(r"(?s:.)").is_match("\n"));
        assert!(!re(r".").is_match("\n"));
        assert!(re(r"a # b").is_match("a # b"));
    }

    #[test]
    fn re2_refusals_explain_and_mention_re2() {
        for (p, needle) in [
            ("foo(?=bar)", "lookahead"),
            ("foo(?!bar)", "lookahead"),
            ("(?<=a)b", "lookbehind"),
            ("(?<!a)b", "lookbehind"),
            ("(a)\\1", "backreferences"),
            ("(?>a)", "atomic"),
            ("a*+", "possessive"),
            ("a++", "possessive"),
            ("a**", "nested repetition"),
            ("(?x)a", "flags are i, m, s and U"),
            ("(?#c)a", "comment"),
            ("*", "not a valid RE2 pattern"),
            ("/^foo$/i", "JavaScript"),
            ("/^\\/api\\/.*/gi", "JavaScript"),
            ("a{1001}", "invalid repeat count"),
            ("a{3,2}", "invalid repeat count"),
            ("a)", "unexpected )"),
            ("(a", "missing closing )"),
            ("[a", "missing closing ]"),
            ("\\u0041", "invalid escape"),
            ("\\8", "invalid escape"),
            ("a\\", "trailing backslash"),
            ("+a", "missing argument"),
            ("[a--b]", "ambiguous"),
        ] {
            let e = err(p);
            assert!(e.contains(needle), "{p:?}: {e}");
            assert!(e.contains("RE2"), "{p:?}: {e}");
        }
    }

    #[test]
    fn path_like_slashes_are_not_mistaken_for_javascript() {
        assert!(re("/foo/").is_match("/foo/"));
        assert!(re("/foo/i").is_match("/foo/i"));
        assert!(re("/api/.*/g").is_match("/api/x/g"));
    }

    #[test]
    fn size_limits_are_errors_not_panics() {
        let long = "a".repeat(MAX_REGEX_LEN + 1);
        assert_eq!(Re2Regex::new(&long), Err(RegexError::TooLong));
        assert_eq!(
            RegexError::TooLong.to_string(),
            "regex is too large, max length allowed is 1024"
        );
        assert!(Re2Regex::new(&"a".repeat(MAX_REGEX_LEN)).is_ok());
        // Small text, huge program.
        let e = Re2Regex::new("((((a{1000}){1000}){1000}){1000})");
        assert_eq!(e, Err(RegexError::ProgramTooLarge));
        let deep = format!("{}a{}", "(".repeat(300), ")".repeat(300));
        assert!(Re2Regex::new(&deep).is_err());
    }

    /// A tiny regex language for checking full-match answers against an
    /// independent reference.
    #[derive(Debug, Clone)]
    enum Node {
        Lit(char),
        Any,
        Concat(Vec<Node>),
        Alt(Box<Node>, Box<Node>),
        Star(Box<Node>, bool),
        Plus(Box<Node>),
        Opt(Box<Node>),
    }

    impl Node {
        fn render(&self) -> String {
            match self {
                Node::Lit(c) => c.to_string(),
                Node::Any => ".".to_string(),
                Node::Concat(v) => v.iter().map(|n| format!("(?:{})", n.render())).collect(),
                Node::Alt(a, b) => format!("(?:{})|(?:{})", a.render(), b.render()),
                Node::Star(a, lazy) => {
                    format!("(?:{})*{}", a.render(), if *lazy { "?" } else { "" })
                }
                Node::Plus(a) => format!("(?:{})+", a.render()),
                Node::Opt(a) => format!("(?:{})?", a.render()),
            }
        }

        /// Every end position reachable by matching `self` from `start`.
        fn ends(&self, s: &[char], start: usize) -> std::collections::BTreeSet<usize> {
            use std::collections::BTreeSet;
            match self {
                Node::Lit(c) => s
                    .get(start)
                    .filter(|x| *x == c)
                    .map(|_| start + 1)
                    .into_iter()
                    .collect(),
                Node::Any => s
                    .get(start)
                    .filter(|x| **x != '\n')
                    .map(|_| start + 1)
                    .into_iter()
                    .collect(),
                Node::Concat(v) => {
                    let mut cur: BTreeSet<usize> = [start].into();
                    for n in v {
                        cur = cur.iter().flat_map(|&p| n.ends(s, p)).collect();
                    }
                    cur
                }
                Node::Alt(a, b) => a.ends(s, start).union(&b.ends(s, start)).copied().collect(),
                Node::Star(a, _) => {
                    let mut seen: BTreeSet<usize> = [start].into();
                    let mut frontier = vec![start];
                    while let Some(p) = frontier.pop() {
                        for e in a.ends(s, p) {
                            if seen.insert(e) {
                                frontier.push(e);
                            }
                        }
                    }
                    seen
                }
                Node::Plus(a) => {
                    let star = Node::Star(a.clone(), false);
                    a.ends(s, start)
                        .iter()
                        .flat_map(|&p| star.ends(s, p))
                        .collect()
                }
                Node::Opt(a) => {
                    let mut e = a.ends(s, start);
                    e.insert(start);
                    e
                }
            }
        }

        fn full_match(&self, s: &str) -> bool {
            let chars: Vec<char> = s.chars().collect();
            self.ends(&chars, 0).contains(&chars.len())
        }
    }

    fn node_strategy() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            prop::sample::select(vec!['a', 'b', '/']).prop_map(Node::Lit),
            Just(Node::Any),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Node::Concat),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Node::Alt(Box::new(a), Box::new(b))),
                (inner.clone(), prop::bool::ANY).prop_map(|(a, l)| Node::Star(Box::new(a), l)),
                inner.clone().prop_map(|a| Node::Plus(Box::new(a))),
                inner.prop_map(|a| Node::Opt(Box::new(a))),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn full_match_agrees_with_reference(
            node in node_strategy(),
            subject in "[ab/\n]{0,6}",
        ) {
            let pattern = node.render();
            let compiled = Re2Regex::new(&pattern);
            prop_assert!(compiled.is_ok(), "{} refused", pattern);
            if let Ok(r) = compiled {
                prop_assert_eq!(r.is_match(&subject), node.full_match(&subject), "pattern {}", pattern);
            }
        }

        #[test]
        fn the_prefix_check_never_changes_an_answer(
            pattern in "[()|*+?.a-c/]{0,6}(\\[\\^?[a-c]-?[a-c]?\\]|\\.)?[*+?]?([{][0-2](,[0-3]?)?[}])?",
            subject in "[a-c/]{0,8}",
        ) {
            if let Ok(r) = Re2Regex::new(&pattern) {
                prop_assert_eq!(r.is_match(&subject), r.program.compiled.is_match(&subject), "pattern {}", pattern);
            }
        }

        #[test]
        fn arbitrary_patterns_never_panic(pattern in "[\\\\()\\[\\]{}*+?|^$.a-d0-9,:=!<>#&~-]{0,24}", subject in "[a-d]{0,5}") {
            if let Ok(r) = Re2Regex::new(&pattern) {
                let _ = r.is_match(&subject);
            }
        }
    }
}
