//! Where each value of a YAML document starts, by key path (`sync.max_attempts`,
//! `review.gates[1].command`), so a rule broken by a value that parsed can point at its
//! line and column as a parse error does. serde-saphyr's [`Spanned`] records the
//! locations; this walks the document once into a map.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Every value's position by its key path.
#[derive(Debug, Default)]
pub struct Positions(BTreeMap<String, Position>);

impl Positions {
    /// The positions in `text`; empty when it does not parse (the typed parse reports that).
    pub fn of(text: &str) -> Positions {
        let mut positions = Positions::default();
        if let Ok(root) = serde_saphyr::from_str::<Node>(text) {
            positions.record("", &root);
        }
        positions
    }

    /// Where the value at `path` starts, when the document sets it.
    pub fn at(&self, path: &str) -> Option<Position> {
        self.0.get(path).copied()
    }

    fn record(&mut self, path: &str, node: &Node) {
        match node {
            Node::Map(entries) => {
                for (key, value) in entries {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.spanned(path, value);
                }
            }
            Node::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.spanned(format!("{path}[{index}]"), item);
                }
            }
            Node::Leaf => {}
        }
    }

    fn spanned(&mut self, path: String, value: &Spanned<Node>) {
        let at = &value.referenced;
        if at.line() > 0 {
            self.0.insert(
                path.clone(),
                Position {
                    line: at.line(),
                    column: at.column(),
                },
            );
        }
        self.record(&path, &value.value);
    }
}

/// A YAML value's shape, with the position of every child.
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
}

/// A mapping key of any scalar kind, as text (`1: x` has the key `1`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".into()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::{Position, Positions};

    #[test]
    fn nested_keys_and_list_entries_have_their_value_positions() {
        let text = "sync:\n  max_attempts: 0\nreview:\n  gates:\n    - name: qa\n      command: qa\n    - name: sec\n      command: /sec\n";
        let positions = Positions::of(text);
        let at = |line, column| Some(Position { line, column });
        assert_eq!(positions.at("sync.max_attempts"), at(2, 17));
        assert_eq!(positions.at("review.gates[0].command"), at(6, 16));
        assert_eq!(positions.at("review.gates[1].name"), at(7, 13));
        assert_eq!(positions.at("review.gates[1]"), at(7, 7));
        assert_eq!(positions.at("tier.max_files"), None);
    }

    #[test]
    fn flow_lists_and_text_that_does_not_parse() {
        let positions = Positions::of("tier:\n  high_paths: [\"a/**\", \"b/[\"]\n");
        assert_eq!(
            positions.at("tier.high_paths[1]"),
            Some(Position {
                line: 2,
                column: 24
            })
        );
        assert!(Positions::of("a: [").at("a").is_none());
    }
}
