#!/usr/bin/env Rscript
## Reference fixtures for riskset: near-tied times, R's timefix = TRUE (aeqSurv).
##
## Usage (from the repository root):
##   Rscript tests/reference/make_timefix.R
##
## 1. Writes the data sets of the cases as CSV into tests/reference/data/
##    (timefix_*.csv): R's tests/tiedtime.R example, a small hand-made set whose
##    times come from arithmetic (0.1 * 3 vs 0.3, ...), survival::mgus2 with the
##    counting-process exit age (age + futime / 12) and the right-censored time
##    built from it ((age + futime / 12) - age), and a seeded synthetic set with
##    heavy near ties across groups (with delayed entry on the same arithmetic).
## 2. Reads every CSV back (so R and Python see the identical doubles; the
##    script checks that the near-tied values survived the round trip bit for
##    bit) and writes one JSON fixture per case into
##    tests/reference/fixtures/timefix/: survfit (KM table), survdiff and coxph,
##    each with R's default (timefix = TRUE) and with timefix = FALSE, plus
##    the number of distinct times aeqSurv leaves and R's error for an interval
##    that the merge makes empty.
## 3. Writes tests/reference/fixtures/manifest_timefix.json (versions, md5s).
##
## Number encoding: json_helpers.R (shortest round-tripping decimal, <= 17
## significant digits; NA/NaN -> null, Inf -> "Inf").

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "timefix")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

## ---------------------------------------------------------------------------
## Data sets
## ---------------------------------------------------------------------------
tiedtime <- data.frame(time = c(1, 2, sqrt(2)^2, 2, sqrt(2)^2), event = rep(1L, 5),
                       group = c("g1", "g1", "g1", "g2", "g2"), x = c(0.5, -1, 2, 0, 1.5))

## arithmetic near ties: k * 0.1 against k / 10, 0.1 + 0.2 against 0.3, sqrt(k)^2 against k
k <- c(3, 3, 6, 6, 7, 7, 9, 12, 12, 14, 17, 17, 20, 23, 23, 28, 29, 29, 33, 35)
arith <- data.frame(
  time = ifelse(seq_along(k) %% 2 == 1, k * 0.1, k / 10),
  event = c(1L, 1L, 0L, 1L, 1L, 0L, 1L, 1L, 1L, 0L, 1L, 1L, 0L, 1L, 1L, 1L, 0L, 1L, 1L, 0L),
  group = rep(c("a", "b"), 10),
  x = c(0.2, 1.1, -0.4, 0.9, 1.5, -1.2, 0.3, 0.8, -0.7, 1.9, 0.1, -0.3, 1.2, 0.6, -1.5, 0.4, 2.1, -0.9, 0.7, 1.3))
arith$time[c(5, 10)] <- c(sqrt(0.7)^2, 0.1 + 0.2 + 1.1)   # more arithmetic near ties

m <- survival::mgus2
mgus <- data.frame(id = m$id, age = as.numeric(m$age), sex = as.character(m$sex),
                   futime = as.numeric(m$futime), death = as.integer(m$death))
mgus$stop <- mgus$age + mgus$futime / 12
mgus$rtime <- mgus$stop - mgus$age   # the right-censored time, rebuilt by arithmetic

set.seed(20261208)
n <- 300
kk <- sample(1:60, n, replace = TRUE)
grp <- sample(c("a", "b", "c"), n, replace = TRUE)
## the same step count computed three ways (one per group): near ties across groups
syn_time <- ifelse(grp == "a", kk * 0.1, ifelse(grp == "b", kk / 10, (kk * 0.7) / 7))
jj <- pmin(kk - 1, sample(0:10, n, replace = TRUE))
syn_entry <- ifelse(grp == "c", jj / 10, jj * 0.1)
syn <- data.frame(time = syn_time, event = rbinom(n, 1, 0.7), group = grp,
                  x = round(rnorm(n), 3), entry = syn_entry)

## an interval that the merge makes empty: R stops
zero <- data.frame(entry = c(0, 1, 0, 0.5), time = c(1 + 1e-12, 1 + 2e-12, 2, 3), event = c(1L, 1L, 0L, 1L),
                   x = c(1, 0, 1, 0))

sets <- list(timefix_tiedtime = tiedtime, timefix_arith = arith, timefix_mgus2 = mgus,
             timefix_synthetic = syn, timefix_zero = zero)
data_written <- character()
for (nm in names(sets)) data_written <- c(data_written, write_data_csv(sets[[nm]], nm))
back <- lapply(setNames(names(sets), names(sets)), function(nm)
  read.csv(file.path(DATA_DIR, paste0(nm, ".csv")), stringsAsFactors = FALSE))
## every double must come back bit for bit (near ties included)
for (nm in names(sets)) {
  for (col in names(sets[[nm]])) {
    a <- sets[[nm]][[col]]
    if (is.double(a)) stopifnot(identical(a, as.numeric(back[[nm]][[col]])))
  }
}

## ---------------------------------------------------------------------------
## Fixtures
## ---------------------------------------------------------------------------
## survival 3.5-3's survdiff removes rho but not timefix from its model.frame call, so
## survdiff(..., timefix = FALSE) stops ("variable lengths differ (found for '(timefix)')").
## survdiff_nofix is survdiff with that one line also removing timefix (nothing else changed).
survdiff_nofix <- survdiff
stopifnot(identical(body(survdiff_nofix)[[4]], quote(m$rho <- NULL)))
body(survdiff_nofix)[[4]] <- quote({ m$rho <- NULL; m$timefix <- NULL })
km_part <- function(fit) {
  st <- if (is.null(fit$strata)) rep(1L, length(fit$time)) else rep(seq_along(fit$strata), fit$strata)
  list(stratum = jarr(st), time = jarr(fit$time), n_risk = jarr(fit$n.risk),
       n_event = jarr(fit$n.event), n_censor = jarr(fit$n.censor), survival = jarr(fit$surv),
       cumhaz = jarr(fit$cumhaz))
}
sd_part <- function(sd) list(chisq = jnum(sd$chisq), observed = jarr(sd$obs), expected = jarr(sd$exp))
cox_part <- function(f) list(coef = jarr(coef(f)), se = jarr(sqrt(diag(vcov(f)))),
                             loglik = jarr(f$loglik))
n_distinct <- function(y) {
  a <- aeqSurv(y)
  jnum(length(unique(c(a[, -ncol(a)]))))
}

written <- character()
case <- function(name, data, roles, surv_f, rhs_km, rhs_sd = NULL, rhs_cox = NULL) {
  d <- back[[data]]
  f_km <- as.formula(paste(surv_f, "~", rhs_km))
  out <- list(data = paste0(data, ".csv"), roles = roles,
              calls = list(survfit = deparse1line(f_km)))
  y <- eval(parse(text = surv_f), d)
  raw <- unique(c(unclass(y)[, -ncol(y)]))
  out$n_times_raw <- jnum(length(raw))
  out$n_times_fixed <- n_distinct(y)
  out$km <- list(timefix = km_part(survfit(f_km, data = d)),
                 no_timefix = km_part(survfit(f_km, data = d, timefix = FALSE)))
  if (!is.null(rhs_sd)) {
    f_sd <- as.formula(paste(surv_f, "~", rhs_sd))
    out$calls$survdiff <- deparse1line(f_sd)
    out$survdiff <- list(timefix = sd_part(survdiff(f_sd, data = d)),
                         no_timefix = sd_part(survdiff_nofix(f_sd, data = d, timefix = FALSE)))
  }
  if (!is.null(rhs_cox)) {
    f_cox <- as.formula(paste(surv_f, "~", rhs_cox))
    out$calls$coxph <- deparse1line(f_cox)
    out$coxph <- list(timefix = cox_part(coxph(f_cox, data = d)),
                      no_timefix = cox_part(coxph(f_cox, data = d, timefix = FALSE)))
  }
  path <- file.path(OUT_DIR, paste0(name, ".json"))
  write_json_file(out, path)
  written <<- c(written, path)
}
roles <- function(time, event, entry = NULL, by = NULL, covariates = NULL)
  list(time = time, event = event, entry = if (is.null(entry)) JNULL else unbox(entry),
       by = if (is.null(by)) JNULL else unbox(by),
       covariates = if (is.null(covariates)) JNULL else I(covariates))

case("tiedtime", "timefix_tiedtime", roles("time", "event", by = "group", covariates = "x"),
     "Surv(time, event)", "group", "group", "x")
case("tiedtime_pooled", "timefix_tiedtime", roles("time", "event"), "Surv(time, event)", "1")
case("arith", "timefix_arith", roles("time", "event", by = "group", covariates = c("x", "group")),
     "Surv(time, event)", "group", "group", "x + group")
case("mgus2_counting", "timefix_mgus2",
     roles("stop", "death", entry = "age", by = "sex", covariates = "sex"),
     "Surv(age, stop, death)", "sex", NULL, "sex")
case("mgus2_right", "timefix_mgus2", roles("rtime", "death", by = "sex", covariates = "sex"),
     "Surv(rtime, death)", "sex", "sex", "sex")
case("synthetic", "timefix_synthetic", roles("time", "event", by = "group", covariates = c("x", "group")),
     "Surv(time, event)", "group", "group", "x + group")
case("synthetic_entry", "timefix_synthetic",
     roles("time", "event", entry = "entry", by = "group", covariates = "x"),
     "Surv(entry, time, event)", "group", NULL, "x")

## the empty interval: R's error (survfit and coxph), and the fit without timefix
d <- back$timefix_zero
err <- function(expr) tryCatch({ force(expr); JNULL }, error = function(e) unbox(conditionMessage(e)))
zero_fx <- list(data = "timefix_zero.csv", roles = roles("time", "event", entry = "entry", covariates = "x"),
                survfit_error = err(survfit(Surv(entry, time, event) ~ 1, data = d)),
                coxph_error = err(coxph(Surv(entry, time, event) ~ x, data = d)),
                km = list(no_timefix = km_part(survfit(Surv(entry, time, event) ~ 1, data = d,
                                                       timefix = FALSE))))
path <- file.path(OUT_DIR, "zero_length.json")
write_json_file(zero_fx, path)
written <- c(written, path)

## ---------------------------------------------------------------------------
## Manifest
## ---------------------------------------------------------------------------
rel_md5 <- function(files) {
  setNames(as.list(unname(tools::md5sum(files))), substring(files, nchar(REF_DIR) + 2))
}
manifest <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  date = format(Sys.Date(), "%Y-%m-%d"),
  collate = "C",
  rng_kind = I(RNGkind()),
  hash = "md5",
  files = rel_md5(c(data_written, sort(written))))
write_json_file(manifest, file.path(FIX_DIR, "manifest_timefix.json"))
cat(sprintf("wrote %d timefix fixtures and %d data files\n", length(written), length(data_written)))
