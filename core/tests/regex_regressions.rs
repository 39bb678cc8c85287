//! Inputs found by fuzzing, kept as regression tests.

use meshroute::matching::regex::Re2Regex;

#[test]
fn unterminated_posix_class_with_question_mark_is_an_error_or_a_regex_not_a_panic() {
    // fuzz/artifacts/regex/crash-07688504c6a8f1ede986e48bf51c2520d2640d64
    let pattern = "[[:?:";
    if let Ok(re) = Re2Regex::new(pattern) {
        let _ = re.is_match("=FF\0[F?:FFD");
        regex::Regex::new(re.compiled_pattern()).expect("the compiled pattern compiles again");
    }
}
