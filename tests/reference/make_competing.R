## Reference fixtures for competing risks (issue 19).
## Run from the repository root:  Rscript tests/reference/make_competing.R
##
## 1. Writes the data sets cr_mgus2, cr_pbc and cr_synth to data/ (shared helpers),
##    then READS EVERY CSV BACK and computes all fixtures from those data frames.
## 2. Writes fixtures/competing/<case>.json:
##    * survfit(Surv(time, factor(event)) ~ g) multi-state (Aalen–Johansen, IJ std.err,
##      log CI); with entry: survfit(Surv(entry, time, factor(event)) ~ g, id = id);
##      with weights: survfit(..., weights = w);
##    * cmprsk::cuminc (Aalen variance) evaluated with timepoints() at every distinct time;
##    * cmprsk::cuminc()$Tests (Gray's test);
##    * finegray() + coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weight = fgwt) (naive and
##      robust with id; row_robust_var = coxph without id, whose default with non-integer
##      weights is the per-row sandwich).
## 3. Writes fixtures/manifest_competing.json (versions, date, md5s).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
  library(cmprsk)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
CR_DIR <- file.path(FIX_DIR, "competing")
dir.create(CR_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

## ---- data ------------------------------------------------------------------
m <- survival::mgus2
mg <- data.frame(id = m$id, age = m$age, sex = as.character(m$sex),
                 etime = ifelse(m$pstat == 0, m$futime, m$ptime),
                 event = ifelse(m$pstat == 0, 2L * m$death, 1L))
p <- survival::pbc
pb <- data.frame(id = p$id, time = p$time, status = p$status, sex = as.character(p$sex),
                 age = p$age, bili = p$bili)
set.seed(20261208)
n <- 400
grp <- sample(c("a", "b"), n, replace = TRUE)
time <- sample(1:15, n, replace = TRUE) + ifelse(grp == "b", sample(0:3, n, replace = TRUE), 0L)
event <- sample(0:3, n, replace = TRUE, prob = c(0.25, 0.35, 0.25, 0.15))
entry <- pmin(time - 0.5, floor(runif(n, 0, 6)) * ifelse(runif(n) < 0.4, 1, 0))
wint <- sample(1:3, n, replace = TRUE)
wfrac <- round(runif(n, 0.2, 2.5), 3)
x1 <- round(rnorm(n), 4)
g3 <- sample(c("p", "q", "r"), n, replace = TRUE)
sy <- data.frame(id = seq_len(n), grp = grp, time = as.numeric(time), event = event,
                 entry = entry, wint = wint, wfrac = wfrac, x1 = x1, g3 = g3,
                 stratum = ifelse(x1 > 0, "hi", "lo"))
data_written <- character(0)
for (nm in c("cr_mgus2", "cr_pbc", "cr_synth")) {
  d <- switch(nm, cr_mgus2 = mg, cr_pbc = pb, cr_synth = sy)
  write_data_csv(d, nm)
  data_written <- c(data_written, file.path(DATA_DIR, paste0(nm, ".csv")))
}
rd <- function(nm) read.csv(file.path(DATA_DIR, paste0(nm, ".csv")), stringsAsFactors = FALSE)
mg <- rd("cr_mgus2"); pb <- rd("cr_pbc"); sy <- rd("cr_synth")

written <- character(0)
emit <- function(name, obj) {
  path <- file.path(CR_DIR, paste0(name, ".json"))
  write_json_file(obj, path)
  written <<- c(written, path)
}

## ---- survfit multi-state (IJ) -------------------------------------------------
## One list entry per curve: its key, times, n.risk (state s0) and, per cause, pstate,
## std.err, lower, upper, n.event.
sf_groups <- function(fit, by_levels) {
  ns <- if (is.null(fit$strata)) length(fit$time) else fit$strata
  ends <- cumsum(ns); starts <- ends - ns + 1
  states <- fit$states
  out <- list()
  for (g in seq_along(ns)) {
    r <- starts[g]:ends[g]
    causes <- list()
    for (s in states[-1]) {
      j <- match(s, states)
      causes[[s]] <- list(cif = jarr(fit$pstate[r, j]), std_err = jarr(fit$std.err[r, j]),
                          lower = jarr(fit$lower[r, j]), upper = jarr(fit$upper[r, j]),
                          n_event = jarr(fit$n.event[r, j]))
    }
    out[[g]] <- list(key = if (is.null(by_levels)) JNULL else unbox(by_levels[g]),
                     time = jarr(fit$time[r]), n_risk = jarr(fit$n.risk[r, 1]), causes = causes)
  }
  out
}

aj_case <- function(name, d, dname, time, event, by = NULL, entry = NULL, weights = NULL,
                    conf_type = "log") {
  lhs <- if (is.null(entry)) sprintf("Surv(%s, factor(%s))", time, event) else
    sprintf("Surv(%s, %s, factor(%s))", entry, time, event)
  f <- as.formula(paste(lhs, "~", if (is.null(by)) "1" else by))
  args <- list(formula = f, data = d, conf.type = conf_type)
  if (!is.null(weights)) args$weights <- d[[weights]]
  if (!is.null(entry)) args$id <- d$id
  fit <- do.call(survfit, args)
  levs <- if (is.null(by)) NULL else sort(unique(d[[by]]))
  call <- sprintf("survfit(%s ~ %s, data = %s%s%s, conf.type = '%s')", lhs,
                  if (is.null(by)) "1" else by, dname,
                  if (is.null(weights)) "" else sprintf(", weights = %s", weights),
                  if (is.null(entry)) "" else ", id = id", conf_type)
  emit(name, list(kind = "survfit_ms", data = dname, time = time, event = event,
                  by = if (is.null(by)) JNULL else by, entry = if (is.null(entry)) JNULL else entry,
                  weights = if (is.null(weights)) JNULL else weights, conf_type = conf_type,
                  call = call, states = I(fit$states[-1]), groups = sf_groups(fit, levs)))
}

aj_case("aj_mgus2_sex", mg, "cr_mgus2", "etime", "event", by = "sex")
aj_case("aj_mgus2_all", mg, "cr_mgus2", "etime", "event")
aj_case("aj_pbc_sex", pb, "cr_pbc", "time", "status", by = "sex")
aj_case("aj_pbc_loglog", pb, "cr_pbc", "time", "status", conf_type = "log-log")
aj_case("aj_synth_grp", sy, "cr_synth", "time", "event", by = "grp")
aj_case("aj_synth_wint", sy, "cr_synth", "time", "event", by = "grp", weights = "wint")
aj_case("aj_synth_wfrac", sy, "cr_synth", "time", "event", by = "grp", weights = "wfrac")
aj_case("aj_synth_entry", sy, "cr_synth", "time", "event", by = "grp", entry = "entry")
aj_case("aj_synth_entry_w", sy, "cr_synth", "time", "event", by = "grp", entry = "entry",
        weights = "wfrac")
aj_case("aj_synth_plain", sy, "cr_synth", "time", "event", conf_type = "plain")

## ---- cmprsk cuminc (Aalen variance) and Gray's test ---------------------------
cuminc_case <- function(name, d, dname, time, event, group = NULL, strata = NULL, rho = 0) {
  args <- list(ftime = d[[time]], fstatus = d[[event]], cencode = 0, rho = rho)
  if (!is.null(group)) args$group <- d[[group]]
  if (!is.null(strata)) args$strata <- d[[strata]]
  ci <- do.call(cuminc, args)
  levs <- if (is.null(group)) "1" else sort(unique(as.character(d[[group]])))
  causes <- sort(unique(d[[event]][d[[event]] != 0]))
  groups <- list()
  for (gi in seq_along(levs)) {
    sub <- if (is.null(group)) rep(TRUE, nrow(d)) else as.character(d[[group]]) == levs[gi]
    tt <- sort(unique(d[[time]][sub]))
    tp <- timepoints(ci, tt)
    cs <- list()
    for (k in causes) {
      rn <- paste(levs[gi], k)
      cs[[as.character(k)]] <- list(cif = jarr(tp$est[rn, ]), var = jarr(tp$var[rn, ]))
    }
    groups[[gi]] <- list(key = if (is.null(group)) JNULL else unbox(levs[gi]), time = jarr(tt),
                         causes = cs)
  }
  tests <- if (is.null(ci$Tests)) JNULL else
    list(cause = I(as.integer(rownames(ci$Tests))), statistic = jarr(ci$Tests[, "stat"]),
         p_value = jarr(ci$Tests[, "pv"]), df = jarr(ci$Tests[, "df"]))
  call <- sprintf("cuminc(%s$%s, %s$%s%s%s, rho = %s, cencode = 0)", dname, time, dname, event,
                  if (is.null(group)) "" else sprintf(", group = %s$%s", dname, group),
                  if (is.null(strata)) "" else sprintf(", strata = %s$%s", dname, strata), rho)
  emit(name, list(kind = "cuminc", data = dname, time = time, event = event,
                  group = if (is.null(group)) JNULL else group,
                  strata = if (is.null(strata)) JNULL else strata, rho = rho, call = call,
                  groups = groups, tests = tests))
}
cuminc_case("cuminc_mgus2_sex", mg, "cr_mgus2", "etime", "event", group = "sex")
cuminc_case("cuminc_pbc_sex", pb, "cr_pbc", "time", "status", group = "sex")
cuminc_case("cuminc_synth_grp", sy, "cr_synth", "time", "event", group = "grp")
cuminc_case("cuminc_synth_rho1", sy, "cr_synth", "time", "event", group = "grp", rho = 1)
cuminc_case("cuminc_synth_strata", sy, "cr_synth", "time", "event", group = "grp",
            strata = "stratum")
cuminc_case("cuminc_synth_g3", sy, "cr_synth", "time", "event", group = "g3")
cuminc_case("cuminc_synth_g3_strata", sy, "cr_synth", "time", "event", group = "g3",
            strata = "grp", rho = 0.5)
cuminc_case("cuminc_synth_all", sy, "cr_synth", "time", "event")

## ---- Fine–Gray -----------------------------------------------------------------
fg_case <- function(name, d, dname, time, event, covs, cause) {
  d2 <- d[, c("id", time, event, covs)]
  f <- as.formula(sprintf("Surv(%s, factor(%s)) ~ .", time, event))
  fg <- finegray(f, data = d2, etype = as.character(cause))
  rhs <- paste(covs, collapse = " + ")
  fit <- coxph(as.formula(sprintf("Surv(fgstart, fgstop, fgstatus) ~ %s", rhs)), data = fg,
               weights = fgwt)
  rob <- coxph(as.formula(sprintf("Surv(fgstart, fgstop, fgstatus) ~ %s", rhs)), data = fg,
               weights = fgwt, id = id)
  emit(name, list(kind = "finegray", data = dname, time = time, event = event, cause = cause,
                  covariates = I(covs),
                  call = sprintf("fg <- finegray(Surv(%s, factor(%s)) ~ ., data, etype = '%s'); coxph(Surv(fgstart, fgstop, fgstatus) ~ %s, data = fg, weights = fgwt, id = id)",
                                 time, event, cause, rhs),
                  coef = jarr(coef(rob)), naive_var = jmat(rob$naive.var), robust_var = jmat(rob$var),
                  row_robust_var = jmat(fit$var),
                  loglik = jarr(rob$loglik), n_expanded = nrow(fg),
                  fgstart = jarr(fg$fgstart), fgstop = jarr(fg$fgstop),
                  fgstatus = jarr(fg$fgstatus), fgwt = jarr(fg$fgwt), fgid = jarr(fg$id)))
}
fg_case("fg_mgus2", mg, "cr_mgus2", "etime", "event", c("age", "sex"), 1)
fg_case("fg_pbc", pb, "cr_pbc", "time", "status", c("age", "bili"), 2)
fg_case("fg_synth", sy, "cr_synth", "time", "event", c("x1", "grp"), 1)

## ---- manifest ------------------------------------------------------------------
rel_md5 <- function(files) {
  setNames(as.list(unname(tools::md5sum(files))), substring(files, nchar(REF_DIR) + 2))
}
manifest <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  date = format(Sys.Date(), "%Y-%m-%d"),
  collate = "C",
  rng_kind = I(RNGkind()),
  hash = "md5",
  files = rel_md5(c(data_written, sort(written))))
write_json_file(manifest, file.path(FIX_DIR, "manifest_competing.json"))
cat(sprintf("wrote %d competing-risk fixtures and %d data files\n", length(written),
            length(data_written)))
