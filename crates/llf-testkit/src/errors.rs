//! Checks on error values as the CLI prints them (`error: …` then one `caused by: …` a level).

/// The message of `err` and of each of its sources, outermost first.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(err), |e| e.source())
        .map(ToString::to_string)
        .collect()
}

/// Panics when a message of `err`'s chain repeats a later one: each cause must be printed once,
/// so an error that returns a cause from `source()` must not also write it into its message.
pub fn assert_each_cause_once(err: &(dyn std::error::Error + 'static)) {
    let chain = chain(err);
    for (i, outer) in chain.iter().enumerate() {
        for inner in &chain[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "the cause `{inner}` is printed twice: also inside `{outer}` (whole chain: {chain:#?})"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error, bool);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if self.1 {
                write!(f, "cannot open x: {}", self.0)
            } else {
                f.write_str("cannot open x")
            }
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_in_its_own_line_only_passes() {
        let err = Outer(std::io::Error::other("disk full"), false);
        assert_eq!(chain(&err), ["cannot open x", "disk full"]);
        assert_each_cause_once(&err);
    }

    #[test]
    #[should_panic(expected = "printed twice")]
    fn a_cause_repeated_in_the_message_fails() {
        assert_each_cause_once(&Outer(std::io::Error::other("disk full"), true));
    }
}
