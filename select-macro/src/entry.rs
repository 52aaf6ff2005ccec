//! `#[gorun::main]` and `#[gorun::test]`: an `async fn` becomes a plain `fn`
//! that runs the body as a task on a new runtime through
//! `::gorun::__private::{run_main, run_test}`.
//!
//! A body's output is produced on a worker thread and must be `Send` to come
//! back. So that `async fn main() -> Result<(), Box<dyn Error>>` (not `Send`)
//! works, a `main` or test with a return type reports it with
//! [`Termination::report`](std::process::Termination::report) on the worker —
//! the same message and exit status `std` would give — and returns the
//! `ExitCode`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, Lit, Meta, ReturnType, Token};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[gorun::main]",
            Kind::Test => "#[gorun::test]",
        }
    }

    fn options(self) -> &'static str {
        match self {
            Kind::Main => {
                "`flavor = \"multi_thread\"|\"current_thread\"`, `procs = N` (or \
                 `worker_threads = N`) and `watchdog = None|Some(duration)`"
            }
            Kind::Test => {
                "`flavor = \"multi_thread\"|\"current_thread\"`, `procs = N` (or \
                 `worker_threads = N`), `watchdog = None|Some(duration)`, \
                 `start_paused = true|false` and `leak_check = true|false`"
            }
        }
    }
}

#[derive(Default)]
struct Options {
    procs: Option<Expr>,
    start_paused: Option<bool>,
    leak_check: Option<bool>,
    current_thread: Option<bool>,
    watchdog: Option<Expr>,
}

fn parse_flavor(e: &Expr) -> syn::Result<bool> {
    let err = || {
        syn::Error::new(
            e.span(),
            "`flavor` takes \"multi_thread\" (the default) or \"current_thread\"",
        )
    };
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => match s.value().as_str() {
                "multi_thread" => Ok(false),
                "current_thread" => Ok(true),
                _ => Err(err()),
            },
            _ => Err(err()),
        },
        _ => Err(err()),
    }
}

fn parse_bool(e: &Expr, name: &str) -> syn::Result<bool> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Bool(b) => Ok(b.value),
            _ => Err(syn::Error::new(
                e.span(),
                format!("`{name}` takes `true` or `false`"),
            )),
        },
        _ => Err(syn::Error::new(
            e.span(),
            format!("`{name}` takes `true` or `false`"),
        )),
    }
}

fn parse_options(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut o = Options::default();
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_else(|| meta.path().to_token_stream().to_string());
        let nv = match &meta {
            Meta::NameValue(nv) => nv,
            _ => {
                let hint = match name.as_str() {
                    "procs" | "worker_threads" => format!("`{name} = 4`"),
                    "flavor" => "`flavor = \"current_thread\"`".to_string(),
                    "watchdog" => "`watchdog = None`".to_string(),
                    "start_paused" | "leak_check" => format!("`{name} = true`"),
                    _ => format!("one of {}", kind.options()),
                };
                return Err(syn::Error::new(
                    meta.span(),
                    format!(
                        "expected `name = value` options for `{}`: write {hint}",
                        kind.attr()
                    ),
                ));
            }
        };
        let dup = || {
            syn::Error::new(
                meta.path().span(),
                format!("`{name}` is given twice; keep one"),
            )
        };
        match name.as_str() {
            // `worker_threads` is tokio's name for the same number.
            "procs" | "worker_threads" => {
                if o.procs.replace(nv.value.clone()).is_some() {
                    return Err(syn::Error::new(
                        meta.path().span(),
                        "the number of processors is given twice (`procs` and \
                         `worker_threads` are the same option); keep one",
                    ));
                }
            }
            "flavor" => {
                if o.current_thread.replace(parse_flavor(&nv.value)?).is_some() {
                    return Err(dup());
                }
            }
            "watchdog" => {
                if o.watchdog.replace(nv.value.clone()).is_some() {
                    return Err(dup());
                }
            }
            "start_paused" | "leak_check" if kind == Kind::Main => {
                return Err(syn::Error::new(
                    meta.path().span(),
                    format!(
                        "`{name}` is an option of `#[gorun::test]` only; `#[gorun::main]` \
                         accepts {}",
                        Kind::Main.options()
                    ),
                ));
            }
            "start_paused" => {
                if o.start_paused
                    .replace(parse_bool(&nv.value, &name)?)
                    .is_some()
                {
                    return Err(dup());
                }
            }
            "leak_check" => {
                if o.leak_check
                    .replace(parse_bool(&nv.value, &name)?)
                    .is_some()
                {
                    return Err(dup());
                }
            }
            _ => {
                return Err(syn::Error::new(
                    meta.path().span(),
                    format!(
                        "unknown option `{name}`: `{}` accepts {}",
                        kind.attr(),
                        kind.options()
                    ),
                ));
            }
        }
    }
    if o.current_thread == Some(true) {
        if let Some(Expr::Lit(l)) = &o.procs {
            if let Lit::Int(n) = &l.lit {
                if n.base10_parse::<u64>().is_ok_and(|n| n > 1) {
                    return Err(syn::Error::new(
                        l.span(),
                        "a `current_thread` runtime has one processor, the thread running \
                         the body: remove this option or use `flavor = \"multi_thread\"`",
                    ));
                }
            }
        }
    }
    Ok(o)
}

fn check_signature(kind: Kind, f: &ItemFn) -> syn::Result<()> {
    let sig = &f.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            format!(
                "`{}` needs an `async fn`: write `async fn {}()`",
                kind.attr(),
                sig.ident
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!(
                "a `{}` function takes no arguments: remove them",
                kind.attr()
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("a `{}` function cannot be generic", kind.attr()),
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span,
            format!("a `{}` function cannot be `const`", kind.attr()),
        ));
    }
    if kind == Kind::Test {
        for attr in &f.attrs {
            if attr.path().is_ident("test") {
                return Err(syn::Error::new(
                    attr.meta.span(),
                    "`#[gorun::test]` already adds `#[test]`: remove this attribute",
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let f: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                format!("`{}` applies to an `async fn`", kind.attr()),
            );
            return e.to_compile_error();
        }
    };
    match check_signature(kind, &f).and_then(|()| parse_options(kind, args)) {
        Ok(opts) => generate(kind, f, opts),
        Err(e) => {
            // Keep the function so that other errors do not pile up on top.
            let mut f = f;
            f.sig.asyncness = None;
            f.sig.inputs.clear();
            f.sig.generics = syn::Generics::default();
            let mut out = e.to_compile_error();
            if kind == Kind::Main {
                f.block = syn::parse_quote!({ ::core::unimplemented!() });
                out.extend(f.into_token_stream());
            }
            out
        }
    }
}

fn generate(kind: Kind, f: ItemFn, opts: Options) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = f;
    sig.asyncness = None;
    let procs = match opts.procs {
        Some(e) => {
            let span = e.span();
            quote_spanned!(span=> ::core::option::Option::Some(#e))
        }
        None => quote!(::core::option::Option::None),
    };
    let start_paused = opts.start_paused.unwrap_or(false);
    let leak_check = opts.leak_check.unwrap_or(true);
    let current_thread = opts.current_thread.unwrap_or(false);
    let watchdog = match opts.watchdog {
        Some(e) => {
            let span = e.span();
            quote_spanned!(span=> ::core::option::Option::Some(#e))
        }
        None => quote!(::core::option::Option::None),
    };
    // On a current-thread runtime the body runs on the calling thread (it need
    // not be `Send`); otherwise as a task on a worker.
    let runner = match (kind, current_thread) {
        (Kind::Main, false) => quote!(::gorun::__private::run_main),
        (Kind::Main, true) => quote!(::gorun::__private::run_main_local),
        (Kind::Test, false) => quote!(::gorun::__private::run_test),
        (Kind::Test, true) => quote!(::gorun::__private::run_test_local),
    };
    let options = quote! {{
        // Future-proof against new fields; clippy's `needless_update` would
        // otherwise blame the caller's code.
        #[allow(clippy::needless_update)]
        let __gorun_options = ::gorun::__private::Options {
            procs: #procs,
            start_paused: #start_paused,
            leak_check: #leak_check,
            current_thread: #current_thread,
            watchdog: #watchdog,
            ..::core::default::Default::default()
        };
        __gorun_options
    }};
    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    // `main` and tests report a return value on the worker (see the module docs).
    let report = match &sig.output {
        ReturnType::Type(_, ty) if kind == Kind::Test || sig.ident == "main" => Some(ty.clone()),
        _ => None,
    };
    let m = Span::mixed_site();
    let body_var = syn::Ident::new("__gorun_body", m);
    let stmts = match report {
        Some(ty) => {
            sig.output = syn::parse_quote_spanned!(ty.span()=> -> ::std::process::ExitCode);
            quote_spanned! {m=>
                let #body_var = async move #block;
                #runner(#options, async move {
                    let __gorun_out: #ty = #body_var.await;
                    ::std::process::Termination::report(__gorun_out)
                })
            }
        }
        None => quote_spanned! {m=>
            #runner(#options, async move #block)
        },
    };
    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #stmts
        }
    }
}
