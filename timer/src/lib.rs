//! gorun-timer: a hierarchical timing wheel (see issue 4).
