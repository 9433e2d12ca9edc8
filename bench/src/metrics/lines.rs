//! Line-level repetition: what a person scrolling the output notices first.

use std::collections::HashSet;

/// Share of non-blank lines that repeat an earlier line (compared after
/// trimming indentation). Lines made only of brackets and separators
/// (`}`, `});`, `{`) are left out of both counts: every Java file repeats
/// them, so counting them would report well-formed code as repetitive.
pub fn rep_line(text: &str) -> f64 {
    let mut seen = HashSet::new();
    let mut counted = 0usize;
    let mut repeated = 0usize;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.chars().all(|c| "{}()[];,".contains(c)) {
            continue;
        }
        counted += 1;
        if !seen.insert(line) {
            repeated += 1;
        }
    }
    if counted == 0 {
        return 0.0;
    }
    repeated as f64 / counted as f64
}

/// Length in characters of the longest line; a degenerate model often emits
/// one endless line instead of repeating lines.
pub fn longest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rep_line_ignores_blank_and_bracket_lines() {
        let text = "  int a = 1;\n}\n\nint a = 1;\n  }\nreturn a;\nint a = 1;\n";
        // counted: "int a = 1;" x3 + "return a;" = 4 lines; repeated: 2.
        assert_eq!(rep_line(text), 0.5);
        assert_eq!(rep_line("}\n}\n\n"), 0.0);
    }

    #[test]
    fn longest_line_counts_characters() {
        assert_eq!(longest_line("ab\nécrit\n"), 5);
        assert_eq!(longest_line(""), 0);
    }
}
