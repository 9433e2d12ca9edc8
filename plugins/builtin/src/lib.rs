//! # logitloom built-ins
//!
//! The processors a chain file can name with `plugin = "..."`: the standard
//! stages ([`logitloom_std_plugins`]) and the Java grammar
//! ([`logitloom_java_grammar`]).
//!
//! ## Why a crate of its own
//!
//! The plugin host runs processors; it does not choose which ones are
//! linked in. Each program (the CLI, the benchmark, the Python package)
//! hands the host this registry when it parses a chain:
//!
//! ```text
//! let builtins = PluginLibrary::from_entries(logitloom_builtins::entries());
//! let chain = ChainSpec::from_file(path, &builtins)?.load(&opts)?;
//! ```
//!
//! That keeps the layers one-way (api → plugins → host → programs), lets
//! the host's own tests run against test doubles, and means a program that
//! wants a smaller or larger set of built-ins links exactly those.

use logitloom_plugin_api::ProcessorEntry;

/// Every built-in processor: the standard library first, then the Java
/// grammar. Names are unique across both (checked by a test).
pub fn entries() -> Vec<ProcessorEntry> {
    let mut entries = logitloom_std_plugins::library();
    entries.extend(logitloom_java_grammar::library());
    entries
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_both_libraries_are_present() {
        let names: Vec<String> = super::entries().iter().map(|e| (e.info)().name).collect();
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "duplicate built-in names in {names:?}");
        for expected in ["greedy", "multinomial", "top_k", "java_grammar", "java_scope"] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
        }
    }
}
