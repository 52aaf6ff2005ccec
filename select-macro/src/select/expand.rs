//! What `select!` expands to.
//!
//! ```text
//! {
//!     enum Out<T0, T1, ..> { V0(T0), V1(T1), .., Default, Else }
//!     let out = {
//!         let mut state = pin!(SelectState::new(biased, has_default));
//!         let mut live = 0usize;              // cases enabled (not with `default` alone)
//!         // Every channel, value, future and guard expression, in source order:
//!         let rx0: &Receiver<_> = &(RX);      let g0: bool = GUARD;
//!         let mut c0 = pin!(RecvCase::new(if g0 { Some(rx0) } else { None }));
//!         live += g0 as usize;
//!         ..
//!         loop {
//!             // No case enabled: `else` runs (tokio); without it, and without
//!             // `default`, the select blocks forever (Go), as `select (no cases)`.
//!             if live == 0 { break Out::Else }   // or: match NoCases.await {}
//!             // The `dyn` slice is rebuilt on every poll, so the select future is
//!             // `Send` whenever its cases are.
//!             match poll_fn(|cx| state.poll(&mut [c0.as_mut(), ..], cx)).await {
//!                 Some(0) => break Out::V0(c0.take_output()),
//!                 // A future case whose (refutable) pattern does not match is
//!                 // disabled and the select goes on, as in tokio.
//!                 Some(2) => { let o = c2.take_output(); if matches!(&o, PAT) { break Out::V2(o) } live -= 1; state.set(..) }
//!                 None => break Out::Default,
//!             }
//!         }
//!         // (with `unsent` clauses, the block ends with `(out, c1.take_unsent(), ..)`)
//!     };  // the cases are dropped here, before any handler runs
//!     if let Some(PAT) = unsent1 { UNSENT_HANDLER }   // a send that did not happen
//!     match out { Out::V0(v) => { let PAT = v; HANDLER } .. }
//! }
//! ```
//!
//! Handlers run in the caller's function, outside any closure or loop of ours,
//! so `break`, `continue`, `return` and `?` act on the caller's code. Internal
//! names use `Span::mixed_site()`, so they never clash with the caller's (nested
//! `select!`s included). Drop order matters: the cases are declared after the
//! state, so they are dropped (and withdrawn from their channels) before the flag
//! they point to, also when the enclosing future is dropped mid-select.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::Ident;

use super::parse::{Op, Select};

fn hygienic(name: &str, i: usize) -> Ident {
    Ident::new(&format!("__gorun_{name}{i}"), Span::mixed_site())
}

/// Strips `ref`/`mut` binding modes so a pattern can be tested against a
/// reference with default binding modes (tokio's `select_priv_clean_pattern`).
struct CleanPattern;

impl VisitMut for CleanPattern {
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        p.by_ref = None;
        p.mutability = None;
        syn::visit_mut::visit_pat_ident_mut(self, p);
    }
}

pub(crate) fn expand(sel: Select) -> TokenStream {
    let Select {
        biased,
        cases,
        default,
        else_arm,
    } = sel;
    let m = Span::mixed_site();
    let chan = quote!(::gorun::__private::chan);
    if cases.is_empty() {
        return match (else_arm, default) {
            // No case is enabled: tokio's `else` wins over Go's `default`.
            (Some(body), _) | (None, Some(body)) => quote!({ #body }),
            // Go's `select {}`: blocks forever.
            (None, None) => quote_spanned! {m=>
                match #chan::NoCases.await {}
            },
        };
    }
    let n = cases.len();
    let has_default = default.is_some();
    let has_else = else_arm.is_some();
    // The count of enabled cases matters unless `default` alone is given (it
    // fires anyway when nothing is enabled, as in Go).
    let count_live = has_else || !has_default;
    let live = Ident::new("__gorun_live", m);
    let out_ty = Ident::new("__GorunSelectOut", m);
    let state = Ident::new("__gorun_state", m);
    let out = Ident::new("__gorun_out", m);
    let cx = Ident::new("__gorun_cx", m);
    let tparams: Vec<Ident> = (0..n).map(|i| format_ident!("T{}", i, span = m)).collect();
    let variants: Vec<Ident> = (0..n).map(|i| format_ident!("V{}", i, span = m)).collect();
    let case_vars: Vec<Ident> = (0..n).map(|i| hygienic("case", i)).collect();
    let default_variant = has_default.then(|| quote!(Default,));
    let else_variant = has_else.then(|| quote!(Else,));

    let mut setup = TokenStream::new();
    if count_live {
        setup.extend(quote!(let mut #live: usize = 0;));
    }
    let mut on_fired = TokenStream::new();
    let mut handlers = TokenStream::new();
    let mut any_future = false;
    // `unsent` clauses: the value taken from the case in the block, and the handler
    // run outside it.
    let mut unsent_vars = Vec::new();
    let mut unsent_takes = Vec::new();
    let mut unsent_handlers = TokenStream::new();
    for (i, case) in cases.into_iter().enumerate() {
        let c = &case_vars[i];
        let v = &variants[i];
        let guard = case.guard.map(|g| {
            let gv = hygienic("guard", i);
            let ty = quote_spanned!(g.span()=> bool);
            (gv.clone(), quote!(let #gv: #ty = #g;))
        });
        let (guard_let, enabled) = match &guard {
            Some((gv, stmt)) => (stmt.clone(), Some(gv.clone())),
            None => (TokenStream::new(), None),
        };
        let wrap = |x: &Ident| match &enabled {
            Some(g) => {
                quote!(if #g { ::core::option::Option::Some(#x) } else { ::core::option::Option::None })
            }
            None => quote!(::core::option::Option::Some(#x)),
        };
        let pat = case.pat;
        let body = case.body;
        let is_future = matches!(case.op, Op::Future { .. });
        if let Some((upat, ubody)) = case.unsent {
            let u = hygienic("unsent", i);
            unsent_takes.push(quote!(#chan::SendCase::take_unsent(#c.as_mut())));
            // A statement: its value, if any, is discarded; `break`, `continue` and
            // `return` act on the caller's code.
            unsent_handlers.extend(quote! {
                if let ::core::option::Option::Some(#upat) = #u {
                    let _ = #ubody;
                }
            });
            unsent_vars.push(u);
        }
        match case.op {
            Op::Recv { rx } => {
                let r = hygienic("rx", i);
                // Two steps: a `&&Receiver` coerces to `&Receiver` at the second
                // (the first keeps a temporary alive, `recv(time::after(d))`). The
                // first binding has the caller's span so that a type error points
                // at the caller's expression.
                let r_user = Ident::new(&format!("__gorun_rx{i}"), rx.span());
                let ty = quote_spanned!(rx.span()=> &::gorun::Receiver<_>);
                let borrow = quote_spanned!(rx.span()=> &(#rx));
                let opt = wrap(&r);
                setup.extend(quote! {
                    let #r_user = #borrow;
                    let #r: #ty = #r_user;
                    #guard_let
                    let mut #c = ::core::pin::pin!(#chan::RecvCase::new(#opt));
                });
            }
            Op::Send { tx, value } => {
                let t = hygienic("tx", i);
                let t_user = Ident::new(&format!("__gorun_tx{i}"), tx.span());
                let val = hygienic("value", i);
                let ty = quote_spanned!(tx.span()=> &::gorun::Sender<_>);
                let borrow = quote_spanned!(tx.span()=> &(#tx));
                let opt = wrap(&t);
                setup.extend(quote! {
                    let #t_user = #borrow;
                    let #t: #ty = #t_user;
                    let #val = #value;
                    #guard_let
                    let mut #c = ::core::pin::pin!(#chan::SendCase::new(#opt, #val));
                });
            }
            Op::Future { fut } => {
                let f = hygienic("future", i);
                let into =
                    quote_spanned!(fut.span()=> ::core::future::IntoFuture::into_future(#fut));
                let opt = wrap(&f);
                setup.extend(quote! {
                    let #f = #into;
                    #guard_let
                    let mut #c = ::core::pin::pin!(#chan::FutureCase::new(#opt));
                });
            }
        }
        if count_live {
            setup.extend(match &enabled {
                Some(g) => quote!(#live += usize::from(#g);),
                None => quote!(#live += 1;),
            });
        }
        let take = quote!(#chan::TakeOutput::take_output(#c.as_mut()));
        let o = Ident::new("__gorun_output", m);
        if is_future {
            any_future = true;
            let live_dec = count_live.then(|| quote!(#live -= 1;));
            let mut clean = pat.clone();
            CleanPattern.visit_pat_mut(&mut clean);
            on_fired.extend(quote! {
                ::core::option::Option::Some(#i) => {
                    let #o = #take;
                    #[allow(unused_variables, unreachable_patterns)]
                    let __gorun_matches = match &#o {
                        #clean => true,
                        _ => false,
                    };
                    if __gorun_matches {
                        break #out_ty::#v(#o);
                    }
                    // The pattern did not match: this case is now disabled (its
                    // future is spent); select again over the others.
                    #live_dec
                    #state.set(#chan::SelectState::new(#biased, #has_default));
                }
            });
            handlers.extend(quote! {
                #out_ty::#v(#pat) => #body,
            });
        } else {
            on_fired.extend(quote! {
                ::core::option::Option::Some(#i) => break #out_ty::#v(#take),
            });
            // A `let`, so a refutable pattern is reported as such, on the pattern.
            // Splice a block handler's statements, so `{ 0 }` is not a block in
            // a block (which `unused_braces` would flag on the caller's code).
            let stmts = match body {
                syn::Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
                    let stmts = b.block.stmts;
                    quote!(#(#stmts)*)
                }
                other => quote!(#other),
            };
            handlers.extend(quote! {
                #out_ty::#v(#o) => {
                    let #pat = #o;
                    #stmts
                }
            });
        }
    }
    let default_arm = default.map(|body| {
        quote! { #out_ty::Default => #body, }
    });
    // Future arms bind their pattern in the `match` itself (it was checked
    // when the case fired), which needs a catch-all arm.
    let unreachable_arm = any_future.then(|| {
        quote! {
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select! pattern checked when the case fired"),
        }
    });
    let default_fired = has_default.then(|| {
        quote! { ::core::option::Option::None => break #out_ty::Default, }
    });
    let else_arm = else_arm.map(|body| {
        quote! { #out_ty::Else => #body, }
    });
    let none_enabled = if has_else {
        Some(quote! {
            if #live == 0 {
                break #out_ty::Else;
            }
        })
    } else if !has_default {
        Some(quote! {
            if #live == 0 {
                match #chan::NoCases.await {}
            }
        })
    } else {
        None
    };

    quote_spanned! {m=>
        {
            #[allow(dead_code, non_camel_case_types, clippy::enum_variant_names)]
            enum #out_ty<#(#tparams),*> {
                #(#variants(#tparams),)*
                #default_variant
                #else_variant
            }
            let (#out, #(#unsent_vars,)*) = {
                let mut #state = ::core::pin::pin!(#chan::SelectState::new(#biased, #has_default));
                #setup
                let __gorun_fired_out = loop {
                    #none_enabled
                    let __gorun_fired = ::core::future::poll_fn(|#cx| {
                        let mut __gorun_cases: [::core::pin::Pin<&mut dyn #chan::SelectCase>; #n] =
                            [#(#case_vars.as_mut()),*];
                        #chan::SelectState::poll(#state.as_mut(), &mut __gorun_cases, #cx)
                    })
                    .await;
                    #[allow(unreachable_patterns)]
                    match __gorun_fired {
                        #on_fired
                        #default_fired
                        _ => ::core::unreachable!("select! fired an unknown case"),
                    }
                };
                (__gorun_fired_out, #(#unsent_takes,)*)
            };
            #unsent_handlers
            match #out {
                #handlers
                #default_arm
                #else_arm
                #unreachable_arm
            }
        }
    }
}
