//! Syntax checks with tree-sitter-java: does the source parse without error
//! nodes, where is the first error, and does a non-void method contain a bare
//! `return;` (a typical sign of a model that lost track of the signature).

use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

/// Bare `return;` statements; the enclosing method is checked in code
/// because queries cannot express "nearest enclosing".
const BARE_RETURN_QUERY: &str = "(return_statement) @ret";

/// What tree-sitter says about one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxReport {
    /// Byte offset of the first ERROR or MISSING node; `None` when it parses.
    pub first_error_byte: Option<usize>,
    /// A `return;` inside a method whose return type is not `void`.
    pub bare_return_in_non_void: bool,
}

/// A reusable Java parser (building one loads the grammar and compiles the
/// query, so the report code makes one per run).
pub struct JavaSyntax {
    parser: Parser,
    bare_return: Query,
}

impl JavaSyntax {
    pub fn new() -> Self {
        let language: tree_sitter::Language = tree_sitter_java::LANGUAGE.into();
        let mut parser = Parser::new();
        parser.set_language(&language).expect("tree-sitter-java matches the tree-sitter version pinned in Cargo.toml");
        let bare_return = Query::new(&language, BARE_RETURN_QUERY).expect("the query is valid for tree-sitter-java");
        JavaSyntax { parser, bare_return }
    }

    pub fn check(&mut self, source: &str) -> SyntaxReport {
        let tree =
            self.parser.parse(source, None).expect("parsing without a timeout or cancellation always returns a tree");
        SyntaxReport {
            first_error_byte: first_error(tree.root_node()),
            bare_return_in_non_void: self.has_bare_return_in_non_void(&tree, source),
        }
    }

    fn has_bare_return_in_non_void(&self, tree: &Tree, source: &str) -> bool {
        let mut cursor = QueryCursor::new();
        let mut captures = cursor.captures(&self.bare_return, tree.root_node(), source.as_bytes());
        while let Some((m, index)) = captures.next() {
            let ret = m.captures[*index].node;
            if ret.named_child_count() == 0 && enclosing_method_is_non_void(ret) {
                return true;
            }
        }
        false
    }
}

impl Default for JavaSyntax {
    fn default() -> Self {
        Self::new()
    }
}

/// The nearest enclosing callable decides what `return;` means: inside a
/// lambda, constructor or initializer it is fine.
fn enclosing_method_is_non_void(node: Node<'_>) -> bool {
    let mut current = node.parent();
    while let Some(n) = current {
        match n.kind() {
            "method_declaration" => {
                return n.child_by_field_name("type").is_some_and(|t| t.kind() != "void_type");
            }
            // Reaching a class body first means an initializer block.
            "lambda_expression"
            | "constructor_declaration"
            | "compact_constructor_declaration"
            | "static_initializer"
            | "class_body" => return false,
            _ => current = n.parent(),
        }
    }
    false
}

/// Depth-first, in document order, only into subtrees that contain errors.
fn first_error(node: Node<'_>) -> Option<usize> {
    if node.is_error() || node.is_missing() {
        return Some(node.start_byte());
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children.into_iter().find_map(first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_source_has_no_error() {
        let src = "class A {\n  int f(int x) { if (x > 0) { return x; } return 0; }\n  void g() { return; }\n}\n";
        let report = JavaSyntax::new().check(src);
        assert_eq!(report, SyntaxReport { first_error_byte: None, bare_return_in_non_void: false });
    }

    #[test]
    fn reports_first_error_position() {
        let src = "class A {\n  int f() { return 1 }\n  int g() { return ; ; }\n}\n";
        let report = JavaSyntax::new().check(src);
        // The missing `;` after `return 1` is the first error, at the `}` that follows `1 `.
        let at = report.first_error_byte.expect("has an error");
        assert!(at >= src.find("return 1").unwrap() && at <= src.find("1 }").unwrap() + 2, "error at {at}");
    }

    #[test]
    fn bare_return_only_counts_in_non_void_methods() {
        let mut syntax = JavaSyntax::new();
        let bad = "class A { int f(int x) { if (x > 0) { return; } return x; } }";
        assert!(syntax.check(bad).bare_return_in_non_void);
        let in_lambda = "class A { int f() { Runnable r = () -> { return; }; return 1; } }";
        assert!(!syntax.check(in_lambda).bare_return_in_non_void);
        let in_ctor = "class A { A() { return; } }";
        assert!(!syntax.check(in_ctor).bare_return_in_non_void);
    }
}
