#!/usr/bin/env Rscript
## Reference fixtures for riskset: Kaplan-Meier family (survival::survfit)
## and log-rank tests (survival::survdiff).
##
## Usage (from the repository root):
##   python tests/reference/make_data.py && Rscript tests/reference/make_r.R
##
## 1. Writes R's real data sets as CSV into tests/reference/data/ (with a 0/1
##    `event` column added).
## 2. Reads *every* data set back from its CSV (so R and Python see exactly the
##    same values) and writes one JSON fixture per case into
##    tests/reference/fixtures/km/ and tests/reference/fixtures/logrank/.
## 3. Writes tests/reference/fixtures/manifest.json (versions, date, md5s).
##
## See tests/reference/README.md for the JSON schema and the NA/Inf encoding.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

## Character strata are sorted with C collation (byte order), independent of
## the machine's locale.
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)
dir.create(file.path(FIX_DIR, "km"), showWarnings = FALSE, recursive = TRUE)
dir.create(file.path(FIX_DIR, "logrank"), showWarnings = FALSE, recursive = TRUE)

## ---------------------------------------------------------------------------
## Number formatting
## ---------------------------------------------------------------------------
## jsonlite's digits = NA means "15 significant digits", which does not round
## trip every double.  We therefore format numbers ourselves with the shortest
## of %.15g / %.16g / %.17g that reads back to the identical double, and hand
## the text to jsonlite verbatim (class "json").

source(file.path(REF_DIR, "json_helpers.R"))

add_event <- function(d, event) { d$event <- as.integer(event); d }

real <- list(
  lung    = add_event(survival::lung, survival::lung$status - 1),
  veteran = add_event(survival::veteran, survival::veteran$status),
  gbsg    = add_event(survival::gbsg, survival::gbsg$status),
  colon   = local({ d <- survival::colon[survival::colon$etype == 2, ]
                    add_event(d, d$status) }),
  pbc     = local({ d <- survival::pbc[1:312, ]          # the randomized trial
                    add_event(d, d$status == 2) }),
  aml     = add_event(survival::aml, survival::aml$status),
  ovarian = add_event(survival::ovarian, survival::ovarian$fustat)
)
for (nm in names(real)) write_data_csv(real[[nm]], nm)

DATA_NAMES <- c(names(real), "ties_int", "entry", "small", "nocens")
DATA_ENV <- new.env(parent = globalenv())
for (nm in DATA_NAMES) {
  f <- file.path(DATA_DIR, paste0(nm, ".csv"))
  if (!file.exists(f)) stop("missing ", f, " -- run make_data.py first")
  assign(nm, read.csv(f, stringsAsFactors = FALSE), envir = DATA_ENV)
}

## ---------------------------------------------------------------------------
## Helpers
## ---------------------------------------------------------------------------

## "grp=a, sex=F" -> list(grp = "a", sex = "F"); "" / no by -> {}
strata_dict <- function(label, by) {
  if (!length(by)) return(setNames(list(), character(0)))
  parts <- strsplit(label, ", ", fixed = TRUE)[[1]]
  if (length(parts) != length(by)) stop("cannot parse strata label ", label)
  vals <- character(length(by))
  for (k in seq_along(by)) {
    pre <- paste0(by[k], "=")
    if (!startsWith(parts[k], pre)) stop("cannot parse strata label ", label)
    vals[k] <- substring(parts[k], nchar(pre) + 1)
  }
  setNames(as.list(trimws(vals)), by)
}


surv_lhs <- function(time, event, entry = NULL) {
  if (is.null(entry)) sprintf("Surv(%s, %s)", time, event)
  else sprintf("Surv(%s, %s, %s)", entry, time, event)
}

as_row_matrix <- function(x) if (is.matrix(x)) x else matrix(x, nrow = 1, dimnames = list(NULL, names(x)))

written <- character(0)

## One KM fixture: survfit + summary table + quantiles + landmarks + reverse KM
km_fixture <- function(case, data, time = "time", event = "event", entry = NULL,
                       weights = NULL, by = character(0), conf_type = "log",
                       conf_level = 0.95, robust = NULL, tau, landmarks) {
  rhs <- if (length(by)) paste(by, collapse = " + ") else "1"
  make_call <- function(ev) {
    cl <- call("survfit", str2lang(paste(surv_lhs(time, ev, entry), "~", rhs)),
               data = as.name(data))
    if (!is.null(weights)) cl$weights <- as.name(weights)
    if (!is.null(robust)) cl$robust <- robust
    cl$conf.type <- conf_type
    cl$conf.int <- conf_level
    cl
  }
  cl <- make_call(event)
  fit <- eval(cl, DATA_ENV)
  rev_cl <- make_call(paste("1 -", event))
  rev <- eval(rev_cl, DATA_ENV)

  ns <- if (is.null(fit$strata)) setNames(length(fit$time), "") else fit$strata
  labels <- names(ns)
  rows <- split(seq_along(fit$time), factor(rep(labels, ns), levels = labels))
  nobs <- if (is.null(fit$strata)) fit$n else setNames(fit$n, labels)
  counting <- !is.null(entry)

  curves <- lapply(seq_along(labels), function(s) {
    i <- rows[[s]]
    cv <- list(strata = strata_dict(labels[s], by),
               n = jnum(nobs[s]),
               time = jarr(fit$time[i]),
               n_risk = jarr(fit$n.risk[i]),
               n_event = jarr(fit$n.event[i]),
               n_censor = jarr(fit$n.censor[i]))
    ## survival 3.x returns no n.enter (and no rows at entry-only times) for
    ## Surv(start, stop, event) data; older versions did.  Kept if present.
    if (!is.null(fit$n.enter)) cv$n_enter <- jarr(fit$n.enter[i])
    c(cv, list(surv = jarr(fit$surv[i]),
               std_err = jarr(fit$std.err[i]),
               lower = jarr(fit$lower[i]),
               upper = jarr(fit$upper[i]),
               cumhaz = jarr(fit$cumhaz[i]),
               std_chaz = jarr(fit$std.chaz[i])))
  })

  ## summary(fit, rmean = tau)$table
  tab <- as_row_matrix(summary(fit, rmean = tau)$table)
  lcl <- grep("LCL$", colnames(tab), value = TRUE)
  ucl <- grep("UCL$", colnames(tab), value = TRUE)
  tab_col <- function(nm, r) if (nm %in% colnames(tab)) jnum(tab[r, nm]) else JNULL
  table <- lapply(seq_along(labels), function(s) list(
    strata = strata_dict(labels[s], by),
    records = tab_col("records", s), n_max = tab_col("n.max", s),
    n_start = tab_col("n.start", s), events = tab_col("events", s),
    rmean = tab_col("rmean", s), se_rmean = tab_col("se(rmean)", s),
    median = tab_col("median", s), lower = tab_col(lcl, s), upper = tab_col(ucl, s)))

  ## quantile(fit, probs, conf.int = TRUE)
  probs <- c(0.25, 0.5, 0.75)
  q <- quantile(fit, probs = probs, conf.int = TRUE)
  qm <- lapply(q[c("quantile", "lower", "upper")], as_row_matrix)
  quantiles <- lapply(seq_along(labels), function(s) list(
    strata = strata_dict(labels[s], by),
    quantile = jarr(qm$quantile[s, ]), lower = jarr(qm$lower[s, ]),
    upper = jarr(qm$upper[s, ])))

  ## summary(fit, times = landmarks, extend = TRUE); std.err on the S scale
  sm <- summary(fit, times = landmarks, extend = TRUE)
  sm_strata <- if (is.null(sm$strata)) factor(rep("", length(sm$time)))
               else factor(as.character(sm$strata), levels = labels)
  sm_rows <- split(seq_along(sm$time), sm_strata)
  lm <- lapply(seq_along(labels), function(s) {
    i <- sm_rows[[s]]
    list(strata = strata_dict(labels[s], by), time = jarr(sm$time[i]),
         n_risk = jarr(sm$n.risk[i]), n_event = jarr(sm$n.event[i]),
         surv = jarr(sm$surv[i]), std_err = jarr(sm$std.err[i]),
         lower = jarr(sm$lower[i]), upper = jarr(sm$upper[i]),
         cumhaz = jarr(sm$cumhaz[i]), std_chaz = jarr(sm$std.chaz[i]))
  })

  ## reverse KM median follow-up
  rtab <- as_row_matrix(summary(rev)$table)
  rlabels <- if (is.null(rev$strata)) "" else names(rev$strata)
  stopifnot(identical(rlabels, labels))
  rlcl <- grep("LCL$", colnames(rtab), value = TRUE)
  rucl <- grep("UCL$", colnames(rtab), value = TRUE)
  reverse_median <- lapply(seq_along(labels), function(s) list(
    strata = strata_dict(labels[s], by), median = jnum(rtab[s, "median"]),
    lower = jnum(rtab[s, rlcl]), upper = jnum(rtab[s, rucl])))

  fx <- list(
    case = case,
    call = deparse1line(cl),
    data = paste0(data, ".csv"),
    roles = list(time = time, event = event, entry = jstr_or_null(entry),
                 weights = jstr_or_null(weights), by = I(by)),
    conf_type = conf_type,
    conf_level = jnum(conf_level),
    robust = if (is.null(robust)) JNULL else robust,
    ## R's fit$logse: TRUE -> curves$std_err is se(log S) (Greenwood);
    ## FALSE -> curves$std_err is se(S) (robust / infinitesimal jackknife)
    logse = isTRUE(fit$logse),
    std_err_scale = if (isTRUE(fit$logse)) "log" else "surv",
    counting_process = counting,
    curves = curves,
    rmean_tau = jnum(tau),
    table = table,
    quantile_probs = jarr(probs),
    quantiles = quantiles,
    landmark_times = jarr(landmarks),
    landmark_std_err_scale = "surv",
    landmarks = lm,
    reverse_call = deparse1line(rev_cl),
    reverse_median = reverse_median)
  path <- file.path(FIX_DIR, "km", paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
  invisible(fit)
}

## One log-rank fixture (survdiff has no weights argument and accepts
## right-censored data only).
logrank_fixture <- function(case, data, group, strata = NULL, rho = 0,
                            time = "time", event = "event") {
  rhs <- paste(group, collapse = " + ")
  if (!is.null(strata)) rhs <- paste0(rhs, " + strata(", paste(strata, collapse = ", "), ")")
  cl <- call("survdiff", str2lang(paste(surv_lhs(time, event), "~", rhs)),
             data = as.name(data), rho = rho)
  x <- eval(cl, DATA_ENV)
  obs_m <- as.matrix(x$obs); exp_m <- as.matrix(x$exp)
  obs <- rowSums(obs_m); expd <- rowSums(exp_m)
  df <- sum(expd > 0) - 1
  fx <- list(
    case = case,
    call = deparse1line(cl),
    data = paste0(data, ".csv"),
    roles = list(time = time, event = event, group = I(group),
                 strata = I(if (is.null(strata)) character(0) else strata),
                 weights = JNULL),
    rho = jnum(rho),
    groups = lapply(names(x$n), strata_dict, by = group),
    n = jarr(as.vector(x$n)),
    obs = jarr(obs),
    exp = jarr(expd),
    var = jmat(x$var),
    chisq = jnum(x$chisq),
    df = jnum(df),
    pvalue = jnum(pchisq(x$chisq, df, lower.tail = FALSE)))
  if (!is.null(strata)) {
    fx$strata_levels <- I(names(x$strata))
    fx$strata_n <- jarr(as.vector(x$strata))
    fx$obs_by_strata <- jmat(obs_m)   # rows = groups, columns = strata
    fx$exp_by_strata <- jmat(exp_m)
  }
  stopifnot(isTRUE(all.equal(fx_p <- pchisq(x$chisq, df, lower.tail = FALSE), x$pvalue)))
  path <- file.path(FIX_DIR, "logrank", paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
  invisible(x)
}

## ---------------------------------------------------------------------------
## Cases
## ---------------------------------------------------------------------------
## Per data set: time/event columns, rmean tau, landmark times (one between
## event times, one beyond the last observed time), and the `by` variants.
SETTINGS <- list(
  lung     = list(time = "time",    tau = 1000, lm = c(182.5, 365, 1100),
                  by = list("sex")),
  veteran  = list(time = "time",    tau = 500,  lm = c(30.5, 100, 1200),
                  by = list("trt", "celltype")),
  gbsg     = list(time = "rfstime", tau = 2000, lm = c(365.5, 1825, 3000),
                  by = list("hormon", "grade", c("hormon", "grade"))),
  colon    = list(time = "time",    tau = 2500, lm = c(365.5, 1826, 3500),
                  by = list("rx")),
  pbc      = list(time = "time",    tau = 3650, lm = c(365.5, 1826, 5000),
                  by = list("trt")),
  aml      = list(time = "time",    tau = 40,   lm = c(12.5, 30, 200),
                  by = list("x")),
  ovarian  = list(time = "futime",  tau = 1000, lm = c(100.5, 365, 1300),
                  by = list("rx")),
  ties_int = list(time = "time",    tau = 30,   lm = c(6.5, 12, 40),
                  by = list("grp", c("grp", "sex"))),
  entry    = list(time = "time",    tau = 20,   lm = c(5.25, 10, 40),
                  by = list("grp"), entry = "entry"),
  small    = list(time = "time",    tau = 6,    lm = c(2.5, 4, 10),
                  by = list("grp")),
  nocens   = list(time = "time",    tau = 2,    lm = c(0.5, 1, 5),
                  by = list("grp"))
)

km_case <- function(data, by = character(0), suffix = "", ...) {
  st <- SETTINGS[[data]]
  name <- paste0(data, "_", if (length(by)) paste(by, collapse = "_") else "all", suffix)
  km_fixture(name, data, time = st$time, entry = st$entry, by = by,
             tau = st$tau, landmarks = st$lm, ...)
}

## (1) every data set without and with each `by`, conf.type "log", 0.95
for (d in names(SETTINGS)) {
  km_case(d)
  for (b in SETTINGS[[d]]$by) km_case(d, b)
}

## (2) all five conf types at 0.95 and 0.90 (lung by sex, ties_int by grp)
CONF_TYPES <- c(log = "log", loglog = "log-log", plain = "plain",
                logit = "logit", arcsin = "arcsin")
## plus small by grp (rows with S = 1 and S = 0 under every transform)
for (spec in list(list("lung", "sex"), list("ties_int", "grp"), list("small", "grp"))) {
  for (ct in names(CONF_TYPES)) {
    for (lev in if (spec[[1]] == "small") 0.95 else c(0.95, 0.90)) {
      if (ct == "log" && lev == 0.95) next          # that is the default case
      km_case(spec[[1]], spec[[2]], suffix = sprintf("_%s_%02d", ct, round(100 * lev)),
              conf_type = CONF_TYPES[[ct]], conf_level = lev)
    }
  }
}

## (3) case weights
km_case("ties_int", suffix = "_wint", weights = "wint")
km_case("ties_int", suffix = "_wfrac", weights = "wfrac")
km_case("ties_int", "grp", suffix = "_wint", weights = "wint")
km_case("ties_int", "grp", suffix = "_wfrac", weights = "wfrac")
## non-integer weights switch survfit's default to a robust (infinitesimal
## jackknife) std.err on the S scale (fit$logse = FALSE), for (start, stop]
## data too; the *_greenwood cases force the model-based variance
km_case("ties_int", "grp", suffix = "_wfrac_greenwood", weights = "wfrac", robust = FALSE)
km_case("entry", suffix = "_w", weights = "w")
km_case("entry", "grp", suffix = "_w", weights = "w")
km_case("entry", "grp", suffix = "_w_greenwood", weights = "w", robust = FALSE)

## (4) log-rank
logrank_fixture("lung_sex_rho0", "lung", "sex")
logrank_fixture("lung_sex_rho1", "lung", "sex", rho = 1)
logrank_fixture("veteran_trt_rho0", "veteran", "trt")
logrank_fixture("veteran_celltype_rho0", "veteran", "celltype")
logrank_fixture("veteran_celltype_rho1", "veteran", "celltype", rho = 1)
logrank_fixture("veteran_trt_strata_celltype_rho0", "veteran", "trt", strata = "celltype")
logrank_fixture("veteran_trt_strata_celltype_rho1", "veteran", "trt", strata = "celltype", rho = 1)
logrank_fixture("gbsg_hormon_rho0", "gbsg", "hormon", time = "rfstime")
logrank_fixture("gbsg_grade_rho0", "gbsg", "grade", time = "rfstime")
logrank_fixture("gbsg_grade_rho1", "gbsg", "grade", time = "rfstime", rho = 1)
logrank_fixture("ties_int_grp_rho0", "ties_int", "grp")
logrank_fixture("ties_int_grp_rho1", "ties_int", "grp", rho = 1)
logrank_fixture("ties_int_sex_rho0", "ties_int", "sex")
logrank_fixture("ties_int_grp_strata_sex_rho0", "ties_int", "grp", strata = "sex")
logrank_fixture("ties_int_grp_strata_sex_rho1", "ties_int", "grp", strata = "sex", rho = 1)
logrank_fixture("small_grp_rho0", "small", "grp")
logrank_fixture("nocens_grp_rho0", "nocens", "grp")

## ---------------------------------------------------------------------------
## Manifest
## ---------------------------------------------------------------------------
data_files <- file.path(DATA_DIR, paste0(DATA_NAMES, ".csv"))
all_files <- c(data_files, sort(written))
rel <- substring(all_files, nchar(REF_DIR) + 2)
md5 <- unname(tools::md5sum(all_files))
manifest <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  date = format(Sys.Date(), "%Y-%m-%d"),
  collate = "C",
  hash = "md5",
  files = setNames(as.list(md5), rel))
write_json_file(manifest, file.path(FIX_DIR, "manifest.json"))
cat(sprintf("wrote %d fixtures (%d km, %d logrank) and %d data files\n",
            length(written), sum(grepl("/km/", written)),
            sum(grepl("/logrank/", written)), length(data_files)))
