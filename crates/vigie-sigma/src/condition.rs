//! Sigma conditions: parsed once into a tree over selection indices.
//!
//! Grammar (lowest precedence first):
//! `or` < `and` < `not` < atoms, where an atom is a selection name,
//! `( ... )`, or a quantifier `1 of X`, `any of X`, `all of X` with X a
//! name pattern (`selection_*`) or `them`.

use crate::pattern::{parse_wildcards, StrMatch};

/// A compiled condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Sel(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Const(bool),
}

impl Expr {
    /// Evaluates with `sel(i)` telling whether selection i matched.
    pub fn eval(&self, sel: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::Not(e) => !e.eval(sel),
            Expr::And(es) => es.iter().all(|e| e.eval(sel)),
            Expr::Or(es) => es.iter().any(|e| e.eval(sel)),
            Expr::Const(b) => *b,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    One,
    All,
    Ident(String),
    Pipe,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            toks.push(Tok::LParen);
            chars.next();
        } else if c == ')' {
            toks.push(Tok::RParen);
            chars.next();
        } else if c == '|' {
            toks.push(Tok::Pipe);
            break;
        } else {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if d.is_whitespace() || d == '(' || d == ')' || d == '|' {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &text[i..end];
            toks.push(match word.to_ascii_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "of" => Tok::Of,
                "1" | "any" => Tok::One,
                "all" => Tok::All,
                _ => Tok::Ident(word.to_owned()),
            });
        }
    }
    Ok(toks)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
}

/// Parses a condition over the given selection names.
pub fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let toks = tokenize(text)?;
    if toks.contains(&Tok::Pipe) {
        return Err(format!(
            "aggregation in condition '{}' is not supported (use a Sigma correlation rule)",
            text.trim()
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
    };
    let expr = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "unexpected {:?} in condition '{}'",
            p.toks[p.pos],
            text.trim()
        ));
    }
    Ok(expr)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let tok = self
            .peek()
            .cloned()
            .ok_or_else(|| "condition ends too early".to_string())?;
        self.pos += 1;
        match tok {
            Tok::LParen => {
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err("missing ')' in condition".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Tok::One | Tok::All => {
                if self.peek() != Some(&Tok::Of) {
                    // A selection literally named "all" or "1" is not valid Sigma.
                    return Err("expected 'of' after quantifier".into());
                }
                self.pos += 1;
                let target = match self.peek().cloned() {
                    Some(Tok::Ident(name)) => name,
                    other => {
                        return Err(format!("expected a name pattern after 'of', got {other:?}"))
                    }
                };
                self.pos += 1;
                let members = self.expand(&target)?;
                let items: Vec<Expr> = members.into_iter().map(Expr::Sel).collect();
                Ok(if tok == Tok::All {
                    Expr::And(items)
                } else {
                    Expr::Or(items)
                })
            }
            Tok::Ident(name) => self
                .names
                .iter()
                .position(|n| *n == name)
                .map(Expr::Sel)
                .ok_or_else(|| format!("condition names unknown selection '{name}'")),
            other => Err(format!("unexpected {other:?} in condition")),
        }
    }

    /// The selections a quantifier's target names: `them` is all of them
    /// (Sigma: except those starting with `_`), otherwise a wildcard pattern.
    fn expand(&self, target: &str) -> Result<Vec<usize>, String> {
        let members: Vec<usize> = if target == "them" {
            (0..self.names.len())
                .filter(|i| !self.names[*i].starts_with('_'))
                .collect()
        } else {
            let pattern = StrMatch::compile(parse_wildcards(target), false);
            (0..self.names.len())
                .filter(|i| pattern.is_match(&self.names[*i]))
                .collect()
        };
        if members.is_empty() {
            return Err(format!("'{target}' matches no selection"));
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["selection", "filter_a", "filter_b", "sel_x", "_hidden"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn eval(cond: &str, truth: &[bool]) -> bool {
        parse(cond, &names()).unwrap().eval(&mut |i| truth[i])
    }

    #[test]
    fn precedence_and_parentheses() {
        // not > and > or
        let t = [true, false, true, false, false];
        assert!(eval("selection and not filter_a", &t));
        assert!(!eval("selection and not filter_b", &t));
        assert!(eval("filter_a and filter_b or selection", &t));
        assert!(!eval("filter_a and (filter_b or selection)", &t));
        assert!(eval("not filter_a and not sel_x", &t));
        assert!(eval("not (filter_a or sel_x)", &t));
        assert!(eval(
            "SELECTION AND NOT FILTER_A"
                .replace("SELECTION", "selection")
                .replace("FILTER_A", "filter_a")
                .as_str(),
            &t
        ));
    }

    #[test]
    fn quantifiers() {
        let t = [true, false, true, false, false];
        assert!(eval("1 of filter_*", &t));
        assert!(!eval("all of filter_*", &t));
        assert!(eval("any of filter_*", &t));
        assert!(!eval("all of them", &t));
        assert!(eval("selection and not 1 of sel_*", &t));
        let all = [true, true, true, true, false];
        // `them` skips underscore-prefixed selections.
        assert!(eval("all of them", &all));
        assert!(eval("1 of selection*", &t));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse("selection and", &names()).is_err());
        assert!(parse("nosuch", &names()).unwrap_err().contains("nosuch"));
        assert!(parse("1 of zz*", &names()).unwrap_err().contains("zz*"));
        assert!(parse("(selection", &names()).is_err());
        assert!(parse("selection | count() > 5", &names())
            .unwrap_err()
            .contains("aggregation"));
        assert!(parse("selection filter_a", &names()).is_err());
    }
}
