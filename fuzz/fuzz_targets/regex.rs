//! Any pattern and subject: compiling is an error or a regex, matching
//! never panics, and a compiled regex matches whole strings only.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (pattern, subject) = input;
    if let Ok(re) = meshroute::matching::regex::Re2Regex::new(pattern) {
        let full = re.is_match(subject);
        // Full match implies the anchored regex crate agrees.
        if full {
            let anchored = regex::Regex::new(re.compiled_pattern());
            if let Ok(a) = anchored {
                assert!(a.is_match(subject));
            }
        }
    }
});
