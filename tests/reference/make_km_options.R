#!/usr/bin/env Rscript
## Reference fixtures for the Kaplan-Meier family options of survfit:
##   stype (1 = product limit, 2 = exp(-cumhaz)), ctype (1 = Nelson-Aalen,
##   2 = Fleming-Harrington tie correction), conf.lower ("usual", "peto", "modified")
##   and the rmean options of summary(fit)$table ("common", "individual", a number).
##
## Usage (from the repository root, after make_r.R / make_data.py wrote the data files):
##   Rscript tests/reference/make_km_options.R
##
## Reads data/lung.csv, data/aml.csv, data/ties_int.csv (tie-heavy integer times, integer
## weights wint and non-integer weights wfrac) and data/entry.csv (delayed entry, weights w);
## writes data/ties_w0.csv (ties_int with weights w0 = wfrac, 0 for every 4th id) and reads it back;
## writes one JSON fixture per case into fixtures/km_options/ and
## fixtures/manifest_km_options.json (versions, date, md5 of inputs and outputs).
##
## Every case records, per curve: time, n.risk, n.event, surv, the S-scale standard error
## (summary(fit)$std.err: fit$std.err * surv when fit$logse), lower, upper, cumhaz, std.chaz;
## per curve the summary table (median and its CI; rmean and se(rmean) for rmean = "common",
## "individual" and a number); quantile(fit, c(.25, .5, .75)) and summary(fit, times).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "km_options")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

read_csv <- function(name) {
  read.csv(file.path(DATA_DIR, name), stringsAsFactors = FALSE, na.strings = c("", "NA"))
}
DATA <- list(lung = read_csv("lung.csv"), aml = read_csv("aml.csv"),
             ties_int = read_csv("ties_int.csv"), entry = read_csv("entry.csv"))
## zero weights: wfrac with every 4th id set to 0 (ctype = 2 counts zero-weight events in
## the tie count e); written, then read back
ties_w0 <- DATA$ties_int[, c("id", "time", "event", "grp")]
ties_w0$w0 <- ifelse(DATA$ties_int$id %% 4 == 0, 0, DATA$ties_int$wfrac)
write_data_csv(ties_w0, "ties_w0")
DATA$ties_w0 <- read_csv("ties_w0.csv")

strata_values <- function(fit, by) {
  if (is.null(fit$strata)) return(list(setNames(list(), character(0))))
  lapply(names(fit$strata), function(s) {
    v <- sub(paste0("^", by, "="), "", s)
    setNames(list(unbox(v)), by)
  })
}

table_rows <- function(tab, nc) {
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  tab
}

written <- character(0)
case <- function(name, data_name, by, weights = NULL, entry = FALSE, stype = 1, ctype = 1,
                 conf.type = "log", conf.lower = "usual", robust = NULL, rmean_num = NULL,
                 times = NULL) {
  lhs <- if (entry) "Surv(entry, time, event)" else "Surv(time, event)"
  cl <- call("survfit", str2lang(paste(lhs, "~", by)), data = as.name(data_name))
  if (!is.null(weights)) cl$weights <- as.name(weights)
  cl$stype <- stype
  cl$ctype <- ctype
  cl$conf.type <- conf.type
  cl$conf.lower <- conf.lower
  if (!is.null(robust)) cl$robust <- robust
  fit <- eval(cl, DATA)
  k <- if (is.null(fit$strata)) length(fit$time) else unname(fit$strata)
  idx <- split(seq_along(fit$time), rep(seq_along(k), k))
  sv <- strata_values(fit, by)
  tabs <- list()
  for (rm in c("common", "individual")) tabs[[rm]] <- summary(fit, rmean = rm)$table
  if (!is.null(rmean_num)) tabs[["num"]] <- summary(fit, rmean = rmean_num)$table
  qq <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  lm <- if (!is.null(times)) summary(fit, times = times, extend = TRUE) else NULL
  curves <- lapply(seq_along(k), function(i) {
    j <- idx[[i]]
    se_s <- if (isTRUE(fit$logse)) fit$surv[j] * fit$std.err[j] else fit$std.err[j]
    row <- function(tab) { tab <- table_rows(tab); tab[i, ] }
    rme <- lapply(tabs, function(tab) {
      r <- row(tab)
      list(rmean = jnum(r[["rmean"]]), se = jnum(r[["se(rmean)"]]))
    })
    tc <- row(tabs[["common"]])
    qrow <- function(m) if (is.null(dim(m))) m else m[i, ]
    out <- list(strata = sv[[i]], time = jarr(fit$time[j]), n_risk = jarr(fit$n.risk[j]),
                n_event = jarr(fit$n.event[j]), surv = jarr(fit$surv[j]),
                std_err_surv = jarr(se_s), lower = jarr(fit$lower[j]), upper = jarr(fit$upper[j]),
                cumhaz = jarr(fit$cumhaz[j]), std_chaz = jarr(fit$std.chaz[j]),
                median = jnum(tc[["median"]]), median_lower = jnum(tc[[8]]),
                median_upper = jnum(tc[[9]]), rmean = rme,
                quantile = list(time = jarr(qrow(qq$quantile)), lower = jarr(qrow(qq$lower)),
                                upper = jarr(qrow(qq$upper))))
    if (!is.null(lm)) {
      sel <- if (is.null(lm$strata)) seq_along(lm$time) else which(as.integer(lm$strata) == i)
      out$landmarks <- list(time = jarr(lm$time[sel]), n_risk = jarr(lm$n.risk[sel]),
                            n_event = jarr(lm$n.event[sel]), surv = jarr(lm$surv[sel]),
                            std_err = jarr(lm$std.err[sel]), lower = jarr(lm$lower[sel]),
                            upper = jarr(lm$upper[sel]))
    }
    out
  })
  fx <- list(case = unbox(name), call = unbox(deparse1line(cl)),
             data = unbox(paste0(data_name, ".csv")),
             roles = list(time = unbox("time"), event = unbox("event"), by = unbox(by),
                          entry = if (entry) unbox("entry") else JNULL,
                          weights = if (is.null(weights)) JNULL else unbox(weights)),
             stype = unbox(stype), ctype = unbox(ctype), conf_type = unbox(conf.type),
             conf_lower = unbox(conf.lower), robust = if (is.null(robust)) JNULL else unbox(robust),
             logse = unbox(isTRUE(fit$logse)),
             rmean_num = if (is.null(rmean_num)) JNULL else jnum(rmean_num),
             landmark_times = if (is.null(times)) JNULL else jarr(times),
             curves = curves)
  path <- file.path(OUT_DIR, paste0(name, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
}

## every stype x ctype on every data set (weights: none, integer, non-integer = robust)
for (st in 1:2) for (ct in 1:2) {
  tag <- sprintf("s%dc%d", st, ct)
  case(paste0("lung_sex_", tag), "lung", "sex", stype = st, ctype = ct, rmean_num = 500,
       times = c(100, 365, 730))
  case(paste0("aml_x_", tag), "aml", "x", stype = st, ctype = ct, rmean_num = 40,
       times = c(10, 30))
  case(paste0("ties_grp_", tag), "ties_int", "grp", stype = st, ctype = ct, rmean_num = 20,
       times = c(5, 15))
  case(paste0("ties_grp_wint_", tag), "ties_int", "grp", weights = "wint", stype = st,
       ctype = ct, rmean_num = 20)
  case(paste0("ties_grp_wfrac_", tag), "ties_int", "grp", weights = "wfrac", stype = st,
       ctype = ct, rmean_num = 20)
  case(paste0("ties_grp_wfrac_greenwood_", tag), "ties_int", "grp", weights = "wfrac",
       stype = st, ctype = ct, robust = FALSE)
  case(paste0("ties_grp_robust_", tag), "ties_int", "grp", stype = st, ctype = ct,
       robust = TRUE)
  case(paste0("ties_grp_w0_", tag), "ties_w0", "grp", weights = "w0", stype = st, ctype = ct)
  case(paste0("ties_grp_w0_greenwood_", tag), "ties_w0", "grp", weights = "w0", stype = st,
       ctype = ct, robust = FALSE)
  case(paste0("entry_grp_", tag), "entry", "grp", entry = TRUE, stype = st, ctype = ct)
  case(paste0("entry_grp_w_", tag), "entry", "grp", weights = "w", entry = TRUE,
       stype = st, ctype = ct)
}
## every conf.lower with conf.type log and log-log
for (lo in c("usual", "peto", "modified")) for (ctp in c("log", "log-log")) {
  tag <- sprintf("%s_%s", lo, sub("-", "", ctp))
  case(paste0("lung_sex_lower_", tag), "lung", "sex", conf.type = ctp, conf.lower = lo,
       times = c(100, 365))
  case(paste0("aml_x_lower_", tag), "aml", "x", conf.type = ctp, conf.lower = lo)
  case(paste0("ties_grp_lower_", tag), "ties_int", "grp", conf.type = ctp, conf.lower = lo)
  case(paste0("ties_grp_wfrac_lower_", tag), "ties_int", "grp", weights = "wfrac",
       conf.type = ctp, conf.lower = lo)
  case(paste0("lung_sex_s2c2_lower_", tag), "lung", "sex", stype = 2, ctype = 2,
       conf.type = ctp, conf.lower = lo)
}

rel_md5 <- function(files) {
  setNames(as.list(unname(tools::md5sum(files))), substring(files, nchar(REF_DIR) + 2))
}
manifest <- list(
  r_version = unbox(R.version.string),
  survival_version = unbox(as.character(packageVersion("survival"))),
  jsonlite_version = unbox(as.character(packageVersion("jsonlite"))),
  date = unbox(format(Sys.Date(), "%Y-%m-%d")),
  collate = unbox("C"),
  hash = unbox("md5"),
  inputs = rel_md5(file.path(DATA_DIR, c("lung.csv", "aml.csv", "ties_int.csv", "entry.csv"))),
  files = rel_md5(c(file.path(DATA_DIR, "ties_w0.csv"), sort(written))))
write_json_file(manifest, file.path(FIX_DIR, "manifest_km_options.json"))
cat(sprintf("wrote %d km_options fixtures\n", length(written)))
