//! A rule's detection as a list of detection items, so that pipeline
//! transformations can rename fields, rewrite values and add selections,
//! and back to the YAML the compiler reads. Working on the YAML keeps the
//! compiler and the matcher unaware of pipelines.

use serde_yaml::{Mapping, Value};

/// One `field|modifiers: value` entry of a selection map, or a keyword list.
#[derive(Clone, Debug)]
pub struct Item {
    /// Field name; empty for keywords and for `|modifier` keys without one.
    pub field: String,
    /// The modifiers as written, with their leading `|` (`|contains|all`).
    pub mods: String,
    pub value: Value,
    /// Keyword values (a scalar or the scalars of a selection list).
    pub keyword: bool,
    /// Ids of the pipeline items that changed this item (for the
    /// `processing_item_applied` field-name condition).
    pub applied: Vec<String>,
}

impl Item {
    pub fn has_modifier(&self, name: &str) -> bool {
        self.mods
            .split('|')
            .any(|m| m.trim().eq_ignore_ascii_case(name))
    }
}

/// A named selection: an OR of branches, each an AND of items.
#[derive(Clone, Debug)]
pub struct Selection {
    pub name: String,
    pub branches: Vec<Vec<Item>>,
    /// Written as a single map (kept that way when still one branch).
    pub was_map: bool,
}

/// The detection section split into selections and everything else
/// (`condition`, `timeframe`, and a filter's `rules`).
#[derive(Clone, Debug)]
pub struct Detection {
    pub selections: Vec<Selection>,
    pub other: Vec<(Value, Value)>,
}

/// Most branches a selection may grow to through one-to-many mappings
/// (each mapped field multiplies the branches of its map).
const MAX_BRANCHES: usize = 256;

impl Detection {
    /// Splits a detection map; `keep` are keys that are not selections.
    pub fn parse(map: &Mapping, keep: &[&str]) -> Result<Detection, String> {
        let mut selections = Vec::new();
        let mut other = Vec::new();
        for (key, value) in map {
            let name = match key.as_str() {
                Some(k) if !keep.contains(&k) => k.to_owned(),
                _ => {
                    other.push((key.clone(), value.clone()));
                    continue;
                }
            };
            let (branches, was_map) = match value {
                Value::Mapping(m) => (vec![map_items(m)?], true),
                Value::Sequence(list) => {
                    let mut branches = Vec::new();
                    let mut keywords = Vec::new();
                    for entry in list {
                        match entry {
                            Value::Mapping(m) => branches.push(map_items(m)?),
                            Value::Sequence(_) => {
                                return Err(format!("selection '{name}': nested lists"))
                            }
                            scalar => keywords.push(scalar.clone()),
                        }
                    }
                    if !keywords.is_empty() {
                        branches.push(vec![keyword(Value::Sequence(keywords))]);
                    }
                    (branches, false)
                }
                // Left to the compiler, which says what is wrong with it.
                Value::Null => {
                    other.push((key.clone(), value.clone()));
                    continue;
                }
                scalar => (vec![vec![keyword(scalar.clone())]], false),
            };
            selections.push(Selection {
                name,
                branches,
                was_map,
            });
        }
        Ok(Detection { selections, other })
    }

    /// Replaces each item by its alternatives (OR), multiplying out the
    /// branches; `f` returning an empty list drops the item.
    pub fn rewrite(
        &mut self,
        mut f: impl FnMut(&Item) -> Result<Vec<Item>, String>,
    ) -> Result<(), String> {
        for sel in &mut self.selections {
            let mut out: Vec<Vec<Item>> = Vec::new();
            for branch in &sel.branches {
                let mut products: Vec<Vec<Item>> = vec![Vec::new()];
                for item in branch {
                    let alternatives = f(item)?;
                    if alternatives.is_empty() {
                        continue;
                    }
                    if products.len() * alternatives.len() > MAX_BRANCHES {
                        return Err(format!(
                            "selection '{}': field mappings expand it to more than {MAX_BRANCHES} alternatives",
                            sel.name
                        ));
                    }
                    products = products
                        .iter()
                        .flat_map(|p| {
                            alternatives.iter().map(move |a| {
                                let mut p = p.clone();
                                p.push(a.clone());
                                p
                            })
                        })
                        .collect();
                }
                out.extend(products.into_iter().filter(|p| !p.is_empty()));
            }
            if out.is_empty() {
                return Err(format!(
                    "selection '{}' has no detection items left after the pipeline",
                    sel.name
                ));
            }
            sel.branches = out;
        }
        Ok(())
    }

    /// The detection map again.
    pub fn to_yaml(&self) -> Result<Mapping, String> {
        let mut map = Mapping::new();
        for sel in &self.selections {
            let mut maps = Vec::new();
            let mut keywords = Vec::new();
            for branch in &sel.branches {
                if branch.len() == 1 && branch[0].keyword {
                    match &branch[0].value {
                        Value::Sequence(list) => keywords.extend(list.iter().cloned()),
                        v => keywords.push(v.clone()),
                    }
                    continue;
                }
                let mut m = Mapping::new();
                for item in branch {
                    let key = Value::String(format!("{}{}", item.field, item.mods));
                    if m.insert(key, item.value.clone()).is_some() {
                        return Err(format!(
                            "selection '{}': the pipeline maps two items to '{}{}'",
                            sel.name, item.field, item.mods
                        ));
                    }
                }
                maps.push(Value::Mapping(m));
            }
            let value = if sel.was_map && maps.len() == 1 && keywords.is_empty() {
                maps.remove(0)
            } else {
                maps.extend(keywords);
                Value::Sequence(maps)
            };
            map.insert(Value::String(sel.name.clone()), value);
        }
        for (k, v) in &self.other {
            map.insert(k.clone(), v.clone());
        }
        Ok(map)
    }
}

fn keyword(value: Value) -> Item {
    Item {
        field: String::new(),
        mods: String::new(),
        value,
        keyword: true,
        applied: Vec::new(),
    }
}

fn map_items(map: &Mapping) -> Result<Vec<Item>, String> {
    map.iter()
        .map(|(key, value)| {
            let key = match key {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err("a field name is not a string".to_owned()),
            };
            let (field, mods) = match key.find('|') {
                Some(i) => (key[..i].trim().to_owned(), key[i..].to_owned()),
                None => (key.trim().to_owned(), String::new()),
            };
            Ok(Item {
                field,
                mods,
                value: value.clone(),
                keyword: false,
                applied: Vec::new(),
            })
        })
        .collect()
}
