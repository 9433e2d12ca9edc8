//! The JDK index: public types of the packages a textbook program uses,
//! with every member a receiver of that type may name (inherited ones
//! included), built by `scripts/JdkIndex.java` and shipped as
//! `data/jdk17.index`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

/// One indexed type.
#[derive(Debug)]
pub struct JdkType {
    pub package: Box<str>,
    /// Field, method and nested-type names reachable from outside the
    /// package (public and protected), flattened over the supertypes.
    pub members: Vec<Box<str>>,
}

#[derive(Debug, Default)]
pub struct JdkIndex {
    /// By canonical name (`java.util.Map.Entry`).
    types: HashMap<Box<str>, JdkType>,
    /// Top-level types by package, by simple name.
    by_package: HashMap<Box<str>, HashMap<Box<str>, Box<str>>>,
    /// Every simple name of an indexed type, nested ones included.
    simple_names: HashSet<Box<str>>,
}

const SOURCE: &str = include_str!("../../data/jdk17.index");

impl JdkIndex {
    /// The shipped index, parsed once per process.
    pub fn shared() -> Arc<JdkIndex> {
        static INDEX: OnceLock<Arc<JdkIndex>> = OnceLock::new();
        Arc::clone(INDEX.get_or_init(|| Arc::new(JdkIndex::parse(SOURCE))))
    }

    /// Parses the index format (see the script); lines that do not have
    /// the six fields are skipped, so a damaged line costs only its type.
    pub fn parse(source: &str) -> JdkIndex {
        let mut index = JdkIndex::default();
        for line in source.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, package, _kind, field_list, method_list, type_list] = fields[..] else { continue };
            let mut members: Vec<Box<str>> = Vec::new();
            members.extend(field_list.split(',').filter(|s| !s.is_empty()).map(Box::from));
            members.extend(
                method_list.split(',').filter(|s| !s.is_empty()).map(|m| Box::from(m.split('/').next().unwrap_or(m))),
            );
            members.extend(type_list.split(',').filter(|s| !s.is_empty()).map(Box::from));
            members.sort();
            members.dedup();
            let simple = name.rsplit('.').next().unwrap_or(name);
            index.simple_names.insert(Box::from(simple));
            let relative = name.strip_prefix(package).and_then(|r| r.strip_prefix('.')).unwrap_or(name);
            if !relative.contains('.') {
                index.by_package.entry(Box::from(package)).or_default().insert(Box::from(simple), Box::from(name));
            }
            index.types.insert(Box::from(name), JdkType { package: Box::from(package), members });
        }
        index
    }

    pub fn get(&self, canonical: &str) -> Option<&JdkType> {
        self.types.get(canonical)
    }

    /// The canonical name of top-level type `simple` of `package`.
    pub fn in_package(&self, package: &str, simple: &str) -> Option<&str> {
        self.by_package.get(package)?.get(simple).map(|s| &**s)
    }

    pub fn has_package(&self, package: &str) -> bool {
        self.by_package.contains_key(package)
    }

    /// Whether some indexed type, nested or not, has this simple name.
    pub fn is_type_name(&self, simple: &str) -> bool {
        self.simple_names.contains(simple)
    }

    /// Whether some indexed package has a top-level type of this name.
    pub fn is_top_level_name(&self, simple: &str) -> bool {
        self.by_package.values().any(|types| types.contains_key(simple))
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::JdkIndex;

    #[test]
    fn shipped_index_has_the_textbook_types_with_inherited_members() {
        let index = JdkIndex::shared();
        assert!(index.len() > 500, "{} types", index.len());
        let list = index.get("java.util.ArrayList").expect("ArrayList");
        for m in ["add", "size", "stream", "forEach", "hashCode", "modCount"] {
            assert!(list.members.iter().any(|x| &**x == m), "ArrayList.{m}");
        }
        assert!(!list.members.iter().any(|x| &**x == "length"));
        assert_eq!(index.in_package("java.lang", "String"), Some("java.lang.String"));
        assert!(index.get("java.util.Map.Entry").is_some_and(|e| e.members.iter().any(|m| &**m == "getKey")));
        assert!(index.is_type_name("Entry") && !index.is_type_name("Nonexistent"));
    }
}
