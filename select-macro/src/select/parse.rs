//! The `select!` grammar:
//!
//! ```text
//! select! {
//!     biased;                                      // optional, first
//!     recv(RX) -> PAT [, if GUARD] => HANDLER[,]
//!     send(TX, VALUE) -> PAT [, if GUARD] => HANDLER[,]
//!         [unsent(PAT) => HANDLER[,]]              // the value, if another arm won
//!     PAT = FUTURE [, if GUARD] => HANDLER[,]
//!     default => HANDLER[,]                        // at most one
//!     else => HANDLER[,]                           // at most one
//! }
//! ```
//!
//! A handler is a block (the comma after it is optional) or an expression
//! followed by a comma (optional after the last arm), as in `match`.
//!
//! Every error names the offending tokens and says what to write instead.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{token, Expr, Ident, Pat, Token};

/// A parsed `select!`.
pub(crate) struct Select {
    pub(crate) biased: bool,
    pub(crate) cases: Vec<Case>,
    pub(crate) default: Option<Expr>,
    /// tokio's `else`: runs when no case is enabled.
    pub(crate) else_arm: Option<Expr>,
}

/// One non-default arm.
pub(crate) struct Case {
    pub(crate) op: Op,
    /// `-> PAT` of a channel case, or `PAT =` of a future case.
    pub(crate) pat: Pat,
    pub(crate) guard: Option<Expr>,
    pub(crate) body: Expr,
    /// `unsent(PAT) => HANDLER` after a send arm: runs with the value when the
    /// send did not happen (another arm won, or the guard was false).
    pub(crate) unsent: Option<(Pat, Expr)>,
}

/// What a case waits for.
pub(crate) enum Op {
    Recv { rx: Expr },
    Send { tx: Expr, value: Expr },
    Future { fut: Expr },
}

const ARM_FORMS: &str = "write `recv(rx) -> v => ...`, `send(tx, value) -> res => ...`, \
                         `pattern = future => ...`, `default => ...` or `else => ...`";

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut sel = Select {
            biased: false,
            cases: Vec::new(),
            default: None,
            else_arm: None,
        };
        let mut first = true;
        while !input.is_empty() {
            if input.peek(Ident) && input.peek2(Token![;]) {
                let id: Ident = input.fork().parse()?;
                if id == "biased" {
                    if !first {
                        return Err(syn::Error::new(
                            id.span(),
                            "`biased;` must come first in `select!`, before every arm",
                        ));
                    }
                    input.parse::<Ident>()?;
                    input.parse::<Token![;]>()?;
                    sel.biased = true;
                    first = false;
                    continue;
                }
            }
            first = false;
            if input.peek(Token![default]) && input.peek2(Token![=>]) {
                let kw: Token![default] = input.parse()?;
                if sel.default.is_some() {
                    return Err(syn::Error::new(
                        kw.span,
                        "a `select!` has at most one `default` arm; remove this one or merge it \
                         with the first",
                    ));
                }
                input.parse::<Token![=>]>()?;
                sel.default = Some(parse_handler(input)?);
                continue;
            }
            if input.peek(Token![else]) && input.peek2(Token![=>]) {
                let kw: Token![else] = input.parse()?;
                if sel.else_arm.is_some() {
                    return Err(syn::Error::new(
                        kw.span,
                        "a `select!` has at most one `else` arm; remove this one or merge it \
                         with the first",
                    ));
                }
                input.parse::<Token![=>]>()?;
                sel.else_arm = Some(parse_handler(input)?);
                continue;
            }
            sel.cases.push(parse_case(input)?);
        }
        Ok(sel)
    }
}

fn parse_case(input: ParseStream<'_>) -> syn::Result<Case> {
    let (op, pat) = if input.peek(Ident) && input.peek2(token::Paren) {
        let fork = input.fork();
        let name: Ident = fork.parse()?;
        let content;
        syn::parenthesized!(content in fork);
        let _ = content;
        let is_op = name == "recv" || name == "send";
        if fork.peek(Token![->]) || is_op {
            if !is_op {
                return Err(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown `select!` operation `{name}`: channel cases are \
                         `recv(rx) -> v` and `send(tx, value) -> res`; for any other future \
                         write `pattern = future`"
                    ),
                ));
            }
            parse_channel_op(input)?
        } else {
            parse_future_case(input)?
        }
    } else {
        parse_future_case(input)?
    };
    let guard = parse_guard(input)?;
    if !input.peek(Token![=>]) {
        return Err(input.error(format!("expected `=>` and the arm's handler; {ARM_FORMS}")));
    }
    input.parse::<Token![=>]>()?;
    let body = parse_handler(input)?;
    let unsent = parse_unsent(input, &op)?;
    Ok(Case {
        op,
        pat,
        guard,
        body,
        unsent,
    })
}

/// `unsent(PAT) => HANDLER`, right after a send arm.
fn parse_unsent(input: ParseStream<'_>, op: &Op) -> syn::Result<Option<(Pat, Expr)>> {
    let is_unsent = input.peek(Ident)
        && input.peek2(token::Paren)
        && input.fork().parse::<Ident>().is_ok_and(|id| id == "unsent");
    if !is_unsent {
        return Ok(None);
    }
    let kw: Ident = input.parse()?;
    if !matches!(op, Op::Send { .. }) {
        return Err(syn::Error::new(
            kw.span(),
            "`unsent(v) => ...` follows a `send` arm (it gets the value back when another \
             arm wins); this arm does not send",
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    let pat = Pat::parse_multi_with_leading_vert(&content)?;
    if !content.is_empty() {
        return Err(content.error("expected one pattern: write `unsent(v) => ...`"));
    }
    if !input.peek(Token![=>]) {
        return Err(input.error("expected `=>` and a handler: write `unsent(v) => ...`"));
    }
    input.parse::<Token![=>]>()?;
    let body = parse_handler(input)?;
    Ok(Some((pat, body)))
}

fn parse_channel_op(input: ParseStream<'_>) -> syn::Result<(Op, Pat)> {
    let name: Ident = input.parse()?;
    let content;
    let paren = syn::parenthesized!(content in input);
    let args: Punctuated<Expr, Token![,]> = content.parse_terminated(Expr::parse, Token![,])?;
    let op = if name == "recv" {
        if args.len() != 1 {
            return Err(syn::Error::new(
                paren.span.join(),
                format!(
                    "`recv` takes one receiver, found {}: write `recv(rx) -> v`",
                    args.len()
                ),
            ));
        }
        let mut it = args.into_iter();
        Op::Recv {
            rx: it.next().expect("one arg"),
        }
    } else {
        if args.len() != 2 {
            return Err(syn::Error::new(
                paren.span.join(),
                format!(
                    "`send` takes a sender and a value, found {} argument{}: write \
                     `send(tx, value) -> res`",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        let mut it = args.into_iter();
        Op::Send {
            tx: it.next().expect("two args"),
            value: it.next().expect("two args"),
        }
    };
    if !input.peek(Token![->]) {
        let (what, example) = match &op {
            Op::Recv { .. } => ("recv(...)", "recv(rx) -> v => ..."),
            _ => ("send(...)", "send(tx, value) -> res => ..."),
        };
        let span = if input.is_empty() {
            name.span()
        } else {
            input.span()
        };
        return Err(syn::Error::new(
            span,
            format!(
                "expected `->` and a pattern for the result after `{what}`: write \
                 `{example}` (use `-> _` to ignore it)"
            ),
        ));
    }
    input.parse::<Token![->]>()?;
    let pat = Pat::parse_multi_with_leading_vert(input)?;
    Ok((op, pat))
}

fn parse_future_case(input: ParseStream<'_>) -> syn::Result<(Op, Pat)> {
    let start = input.span();
    let pat = Pat::parse_multi_with_leading_vert(input)
        .map_err(|e| syn::Error::new(e.span(), format!("expected a `select!` arm; {ARM_FORMS}")))?;
    if !input.peek(Token![=]) || input.peek(Token![=>]) {
        let span = if input.is_empty() {
            start
        } else {
            input.span()
        };
        let hint = if input.peek(Token![.]) {
            " (a method call is not a case: for a channel write `recv(rx) -> v`, for \
             another future `v = expr.method()`)"
        } else {
            ""
        };
        return Err(syn::Error::new(
            span,
            format!("expected `=` and a future after the pattern; {ARM_FORMS}{hint}"),
        ));
    }
    input.parse::<Token![=]>()?;
    let fut: Expr = input.parse()?;
    Ok((Op::Future { fut }, pat))
}

/// `, if COND` (or `if COND`, as in a `match` arm).
fn parse_guard(input: ParseStream<'_>) -> syn::Result<Option<Expr>> {
    if input.peek(Token![,]) && input.peek2(Token![if]) {
        input.parse::<Token![,]>()?;
    }
    if !input.peek(Token![if]) {
        return Ok(None);
    }
    let kw: Token![if] = input.parse()?;
    if input.peek(Token![=>]) || input.is_empty() {
        return Err(syn::Error::new(
            kw.span,
            "this guard has no condition: write `, if condition =>` (a case whose condition \
             is false is disabled, like a nil channel in Go)",
        ));
    }
    Ok(Some(input.parse()?))
}

/// A handler and the comma after it: required after an expression that is not a
/// block, unless it ends the macro.
fn parse_handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    let block_like = input.peek(token::Brace)
        || input.peek(Token![if])
        || input.peek(Token![match])
        || input.peek(Token![loop])
        || input.peek(Token![while])
        || input.peek(Token![for])
        || input.peek(Token![unsafe]);
    let body: Expr = if input.peek(token::Brace) {
        Expr::Block(input.parse()?)
    } else if input.peek(Token![if]) {
        Expr::If(input.parse()?)
    } else if input.peek(Token![match]) {
        Expr::Match(input.parse()?)
    } else if input.peek(Token![loop]) {
        Expr::Loop(input.parse()?)
    } else if input.peek(Token![while]) {
        Expr::While(input.parse()?)
    } else if input.peek(Token![for]) {
        Expr::ForLoop(input.parse()?)
    } else if input.peek(Token![unsafe]) {
        Expr::Unsafe(input.parse()?)
    } else {
        input.parse()?
    };
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !block_like && !input.is_empty() {
        return Err(syn::Error::new(
            input.span(),
            "expected `,` before this: end the previous arm's handler with `,` (or write \
             it as a block `{ .. }`)",
        ));
    }
    Ok(body)
}

/// Parses `input` as a `select!` body.
pub(crate) fn parse(input: TokenStream) -> syn::Result<Select> {
    syn::parse2(input)
}
