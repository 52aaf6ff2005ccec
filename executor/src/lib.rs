//! gorun-executor: the work-stealing G/M/P scheduler (see issue 2).
