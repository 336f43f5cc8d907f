//! The shape of `src/`: no import cycle among its modules (issue 11).
//!
//! Every file under `src/` is a module. A file *uses* another when a path in it (a `use`
//! item, or a path in code or types) names an item that the other file defines; paths are
//! followed through `use` bindings and re-exports to the file that really defines the
//! item, so a facade `mod.rs` that only re-exports its children is not itself a
//! dependency. Declaring `mod child;` is containment, not use. Test code (`#[cfg(test)]`
//! items) may reach anywhere and is not counted.
//!
//! The graph of "uses" must have no cycle: a module below the modes never reaches up to
//! them, and a mode's parts never reach back into the file that wires them.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use syn::visit::Visit;

/// A module's path below the crate root, e.g. `["tier", "policy"]`; the root is `[]`.
type ModPath = Vec<String>;

/// One file of `src/`, parsed.
struct Module {
    file: PathBuf,
    /// `mod x;` declared here (not inline, not test-only).
    children: BTreeSet<String>,
    /// Names bound here by `use` (the rename if any) to the path they stand for, made
    /// absolute (from the crate root); `None` for a path outside the crate.
    bindings: BTreeMap<String, Option<Vec<String>>>,
    /// `use a::b::*` from inside the crate: the module globbed, absolute.
    globs: Vec<Vec<String>>,
    /// Every crate-internal path this file names, absolute, with the text it was
    /// written as.
    references: Vec<(Vec<String>, String)>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn module_path(file: &Path) -> ModPath {
    let relative = file.strip_prefix(src()).expect("a file under src/");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// Where the file `here` (its module path, `is_dir_module` for `mod.rs`/`lib.rs`) resolves
/// a path's first segments: `crate`, `super`, `self`, a child module or a `use` binding.
/// Returns `None` for a path that leaves the crate (std, a dependency, a local item).
struct Resolver<'a> {
    here: &'a ModPath,
    children: &'a BTreeSet<String>,
    bindings: &'a BTreeMap<String, Option<Vec<String>>>,
}

impl Resolver<'_> {
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segments.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.here.clone(),
            "super" => {
                let mut base = self.here.clone();
                base.pop()?;
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return Some(base);
            }
            name if self.children.contains(name) => {
                let mut base = self.here.clone();
                base.push(name.to_owned());
                base
            }
            name => match self.bindings.get(name) {
                Some(Some(bound)) => bound.clone(),
                _ => return None,
            },
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }
}

/// Every leaf of a `use` tree: (the path written, the name it binds or `*`).
fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_leaves(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let ident = name.ident.to_string();
            let mut path = prefix.clone();
            if ident == "self" {
                let bound = path.last().cloned().unwrap_or_default();
                out.push((path, bound));
            } else {
                path.push(ident.clone());
                out.push((path, ident));
            }
        }
        syn::UseTree::Rename(rename) => {
            let mut path = prefix.clone();
            let ident = rename.ident.to_string();
            if ident != "self" {
                path.push(ident);
            }
            out.push((path, rename.rename.to_string()));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), "*".to_owned())),
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                use_leaves(tree, prefix, out);
            }
        }
    }
}

/// The paths a file's non-test code names.
#[derive(Default)]
struct Paths {
    uses: Vec<(Vec<String>, String)>,
    paths: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        if let syn::Item::Use(item) = item {
            use_leaves(&item.tree, &mut Vec::new(), &mut self.uses);
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            self.paths
                .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Paths inside macro calls (format!, matches!, tracing's macros) are tokens: read
        // the `a::b::c` runs out of them.
        let tokens: Vec<proc_macro2::TokenTree> = mac.tokens.clone().into_iter().collect();
        macro_paths(&tokens, &mut self.paths);
        syn::visit::visit_macro(self, mac);
    }
}

fn macro_paths(tokens: &[proc_macro2::TokenTree], out: &mut Vec<Vec<String>>) {
    use proc_macro2::TokenTree;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(group) => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                macro_paths(&inner, out);
                i += 1;
            }
            TokenTree::Ident(ident) => {
                let mut path = vec![ident.to_string()];
                let mut j = i + 1;
                while j + 2 < tokens.len() && is_colon_colon(&tokens[j..]) {
                    match &tokens[j + 2] {
                        TokenTree::Ident(next) => {
                            path.push(next.to_string());
                            j += 3;
                        }
                        _ => break,
                    }
                }
                if path.len() > 1 {
                    out.push(path);
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

fn is_colon_colon(tokens: &[proc_macro2::TokenTree]) -> bool {
    use proc_macro2::{Spacing, TokenTree};
    matches!(
        (&tokens[0], &tokens[1]),
        (TokenTree::Punct(a), TokenTree::Punct(b))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

fn parse(file: &Path) -> (ModPath, Module) {
    let here = module_path(file);
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
    let children: BTreeSet<String> = ast
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() && !is_test_only(&m.attrs) => {
                Some(m.ident.to_string())
            }
            _ => None,
        })
        .collect();
    let mut paths = Paths::default();
    paths.visit_file(&ast);

    // Bindings first (a `use` may name a child or another binding), then references.
    let mut bindings = BTreeMap::new();
    let mut globs = Vec::new();
    for _ in 0..3 {
        for (path, bound) in &paths.uses {
            let resolver = Resolver {
                here: &here,
                children: &children,
                bindings: &bindings,
            };
            let absolute = resolver.absolute(path);
            if bound == "*" {
                if let Some(absolute) = absolute {
                    if !globs.contains(&absolute) {
                        globs.push(absolute);
                    }
                }
            } else {
                bindings.insert(bound.clone(), absolute);
            }
        }
    }
    let resolver = Resolver {
        here: &here,
        children: &children,
        bindings: &bindings,
    };
    let mut references = Vec::new();
    for (path, _) in &paths.uses {
        if let Some(absolute) = resolver.absolute(path) {
            references.push((absolute, path.join("::")));
        }
    }
    for path in &paths.paths {
        if let Some(absolute) = resolver.absolute(path) {
            references.push((absolute, path.join("::")));
        }
    }
    let module = Module {
        file: file.to_owned(),
        children,
        bindings,
        globs,
        references,
    };
    (here, module)
}

/// The file that defines what `path` (absolute) names, following re-exports; `None` when
/// it does not resolve to a crate file (a macro-made path, a variant of a local enum …).
fn defining_file(
    modules: &BTreeMap<ModPath, Module>,
    path: &[String],
    depth: usize,
) -> Option<ModPath> {
    if depth > 16 {
        return None;
    }
    let mut module: ModPath = Vec::new();
    for (i, segment) in path.iter().enumerate() {
        let current = modules.get(&module)?;
        if current.children.contains(segment) {
            module.push(segment.clone());
            continue;
        }
        if let Some(Some(bound)) = current.bindings.get(segment) {
            let mut target = bound.clone();
            target.extend(path[i + 1..].iter().cloned());
            return defining_file(modules, &target, depth + 1).or(Some(module));
        }
        for glob in &current.globs {
            let mut target = glob.clone();
            target.extend(path[i..].iter().cloned());
            if let Some(found) = defining_file(modules, &target, depth + 1) {
                if found != *glob || modules.get(glob).is_some() {
                    return Some(found);
                }
            }
        }
        return Some(module);
    }
    Some(module)
}

/// Strongly connected components of more than one module (Tarjan, iterative enough for
/// a crate of this size).
fn cycles(edges: &BTreeMap<ModPath, BTreeMap<ModPath, String>>) -> Vec<Vec<ModPath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, String>>,
        index: BTreeMap<ModPath, usize>,
        low: BTreeMap<ModPath, usize>,
        stack: Vec<ModPath>,
        on_stack: BTreeSet<ModPath>,
        next: usize,
        found: Vec<Vec<ModPath>>,
    }
    fn connect(state: &mut State<'_>, v: &ModPath) {
        state.index.insert(v.clone(), state.next);
        state.low.insert(v.clone(), state.next);
        state.next += 1;
        state.stack.push(v.clone());
        state.on_stack.insert(v.clone());
        let targets: Vec<ModPath> = state
            .edges
            .get(v)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for w in targets {
            if !state.index.contains_key(&w) {
                connect(state, &w);
                let low = state.low[v].min(state.low[&w]);
                state.low.insert(v.clone(), low);
            } else if state.on_stack.contains(&w) {
                let low = state.low[v].min(state.index[&w]);
                state.low.insert(v.clone(), low);
            }
        }
        if state.low[v] == state.index[v] {
            let mut component = Vec::new();
            while let Some(w) = state.stack.pop() {
                state.on_stack.remove(&w);
                let done = w == *v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            connect(&mut state, v);
        }
    }
    state.found
}

fn name(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Who uses whom: for every pair, one path that shows it.
fn graph() -> (
    BTreeMap<ModPath, Module>,
    BTreeMap<ModPath, BTreeMap<ModPath, String>>,
) {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeMap<ModPath, Module> = files
        .iter()
        .filter(|file| !file.ends_with("main.rs"))
        .map(|file| parse(file))
        .collect();
    let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, String>> = BTreeMap::new();
    for (here, module) in &modules {
        let entry = edges.entry(here.clone()).or_default();
        for (path, written) in &module.references {
            let Some(target) = defining_file(&modules, path, 0) else {
                continue;
            };
            if target != *here {
                entry.entry(target).or_insert_with(|| written.clone());
            }
        }
    }
    (modules, edges)
}

#[test]
fn no_module_of_src_takes_part_in_an_import_cycle() {
    let (modules, edges) = graph();
    let found = cycles(&edges);
    let mut report = String::new();
    for component in &found {
        report.push_str(&format!(
            "\ncycle of {} modules: {}\n",
            component.len(),
            component.iter().map(name).collect::<Vec<_>>().join(", ")
        ));
        for from in component {
            for (to, written) in &edges[from] {
                if component.contains(to) {
                    report.push_str(&format!(
                        "  {} uses {} (`{written}` in {})\n",
                        name(from),
                        name(to),
                        modules[from].file.display()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "src/ has import cycles: move what both sides need into a module below them{report}"
    );
}

/// The analysis itself sees what it must: the modes use what is below them, and
/// re-exports resolve to the file that defines the item.
#[test]
fn the_graph_follows_uses_and_re_exports() {
    let (_, edges) = graph();
    let path = |text: &str| -> ModPath {
        text.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let uses = |from: &str, to: &str| {
        edges
            .get(&path(from))
            .is_some_and(|t| t.contains_key(&path(to)))
    };
    assert!(
        uses("sync::act", "git::push") || uses("sync::act", "git::remote"),
        "{:?}",
        edges.get(&path("sync::act"))
    );
    assert!(
        uses("tier::policy", "config"),
        "{:?}",
        edges.get(&path("tier::policy"))
    );
    // `crate::Error` is re-exported by lib.rs: it is error.rs that is used.
    assert!(uses("run", "error"), "{:?}", edges.get(&path("run")));
    assert!(
        !uses("run", ""),
        "lib.rs only re-exports: {:?}",
        edges.get(&path("run"))
    );
}

/// The cycle finder finds a cycle, a long one too, and calls a chain none.
#[test]
fn the_cycle_finder_finds_cycles_and_only_cycles() {
    let graph = |pairs: &[(&str, &str)]| {
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, String>> = BTreeMap::new();
        for (from, to) in pairs {
            edges.entry(vec![(*to).to_owned()]).or_default();
            edges
                .entry(vec![(*from).to_owned()])
                .or_default()
                .insert(vec![(*to).to_owned()], String::new());
        }
        edges
    };
    assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    let found = cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
    assert_eq!(
        cycles(&graph(&[("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")])).len(),
        2
    );
}

/// The `rest_types` fuzz target decodes every REST answer type (issue 12): a type the
/// client deserializes but the target does not name would be a parser of untrusted input
/// that is never fuzzed.
#[test]
fn every_rest_answer_type_is_fuzzed() {
    let types = fs::read_to_string(src().join("forge/types.rs")).expect("read types.rs");
    let file = syn::parse_file(&types).expect("parse types.rs");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/bodies/rest_types.rs");
    let target = fs::read_to_string(&target).expect("read the rest_types target");
    let named: BTreeSet<&str> = target
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .collect();
    let mut decoded = Vec::new();
    for item in &file.items {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        let derives_deserialize = item.attrs.iter().any(|attr| {
            attr.path().is_ident("derive")
                && attr.meta.require_list().is_ok_and(|list| {
                    list.tokens
                        .to_string()
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|word| word == "Deserialize")
                })
        });
        if derives_deserialize {
            decoded.push(item.ident.to_string());
        }
    }
    assert!(decoded.len() > 20, "found only {decoded:?}");
    let missing: Vec<&String> = decoded
        .iter()
        .filter(|name| !named.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "fuzz/bodies/rest_types.rs does not decode {missing:?}: add them to its decode_each! list"
    );
}
