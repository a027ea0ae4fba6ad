#!/usr/bin/env Rscript
## Reference fixture for the study runner: the tdxd example spec recomputed in R.
##
## Usage (from the repository root):
##   Rscript tests/reference/make_study_r.R
##
## Reads riskset/datasets/tdxd.csv, derives exactly what
## riskset/study/examples/tdxd.toml derives ([derive], endpoint times from dates,
## cohort filters, endpoint populations), and computes with R's survival package:
##
##   km        Kaplan-Meier (conf.type = "log") survival at 12 months with CI and
##             n.risk, per endpoint x cohort and per factor level (factors with
##             km = true); also R's median and a flag `flat_at_half` (the curve sits
##             exactly at 0.5 on a flat stretch, where R takes the midpoint and
##             SPSS the first time, so the medians of the two conventions differ)
##   logrank   survdiff chi-square, df and p for every factor x cohort of Table 3
##   cox       coxph (ties = "efron") coefficient, se, HR, Wald CI and Wald p, plus
##             the likelihood-ratio test, for every [[cox]] model of the spec
##             (the monotone model is kept: its LR test is finite and well defined)
##   binomial  Clopper-Pearson intervals (binom.test) for ORR, DCR, CBR (response)
##             and the safety rates (any grade, grade >= 3), overall and per cohort
##   followup  median follow-up by reverse Kaplan-Meier (survfit on 1 - event) with
##             `flat_at_half`, and the median, min and max observed time, per
##             endpoint x cohort
##   compare   Table 4 (every [[compare]] of the spec, on PFS): per level n, the KM
##             median (with `flat_at_half`), ORR with its Clopper-Pearson CI, DCR count
##
## Output: tests/reference/fixtures/study/tdxd_r.json. Numbers are written as the
## shortest decimal that reads back to the same double (at most 17 significant
## digits, i.e. full precision); NA/NaN -> null, Inf -> "Inf".

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
ROOT <- normalizePath(file.path(REF_DIR, "..", ".."))
CSV <- file.path(ROOT, "riskset", "datasets", "tdxd.csv")
OUT_DIR <- file.path(REF_DIR, "fixtures", "study")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)

## ---------------------------------------------------------------------------
## Number formatting: json_helpers.R (shared with make_r.R / make_cox.R); here a
## NULL or empty value (a statistic R did not produce) is written as null too
## ---------------------------------------------------------------------------
source(file.path(REF_DIR, "json_helpers.R"))
jnum_strict <- jnum
jnum <- function(x) if (is.null(x) || length(x) == 0) JNULL else jnum_strict(x)

## ---------------------------------------------------------------------------
## Data and derivations (riskset/study/examples/tdxd.toml)
## ---------------------------------------------------------------------------
d <- read.csv(CSV, stringsAsFactors = FALSE, na.strings = "", colClasses = c(patient_id = "character"))
date_cols <- c("start_date", "progression_date", "last_assessment_date", "response_date",
               "next_line_start", "second_progression_date", "pfs2_last_date")
for (v in date_cols) d[[v]] <- as.Date(d[[v]])

cut2 <- function(x, thr, hi, lo) ifelse(is.na(x), NA_character_, ifelse(x >= thr, hi, lo))
d$age_ge50 <- cut2(d$age, 50, ">= 50", "< 50")
d$age_ge65 <- cut2(d$age, 65, ">= 65", "< 65")
d$lines_ge3 <- cut2(d$prior_lines, 3, ">= 3", "< 3")
d$anti_her2_lines_lt3 <- ifelse(is.na(d$prior_anti_her2_lines), NA_integer_,
                                ifelse(d$prior_anti_her2_lines < 3, 1L, 0L))
d$anti_her2_lines_group <- ifelse(is.na(d$prior_anti_her2_lines), NA_character_,
                                  ifelse(d$prior_anti_her2_lines < 3, "< 3", ">= 3"))

MONTH <- 30.4375
endpoint_cols <- function(d, name, start, event_date, censor_date) {
  end <- d[[event_date]]
  end[is.na(end)] <- d[[censor_date]][is.na(end)]
  days <- as.numeric(end - d[[start]])          # NA when start or both end dates missing
  d[[paste0(name, "__time")]] <- days / MONTH
  d[[paste0(name, "__event")]] <- ifelse(is.na(d[[start]]), NA_integer_,
                                         as.integer(!is.na(d[[event_date]])))
  d
}
d <- endpoint_cols(d, "PFS", "start_date", "progression_date", "last_assessment_date")
d <- endpoint_cols(d, "PFS2", "next_line_start", "second_progression_date", "pfs2_last_date")
d <- endpoint_cols(d, "DoR", "response_date", "progression_date", "last_assessment_date")

cohorts <- list(
  "Overall" = d,
  "HER2-low" = d[!is.na(d$her2_group) & d$her2_group == "HER2-low", ],
  "HER2-positive" = d[!is.na(d$her2_group) & d$her2_group == "HER2-positive", ]
)
population <- list(
  PFS = function(x) x,
  PFS2 = function(x) x[!is.na(x$next_line_start), ],
  DoR = function(x) x[!is.na(x$best_response) & x$best_response %in% c("CR", "PR"), ]
)
endpoint_frame <- function(ep, cname) {
  x <- population[[ep]](cohorts[[cname]])
  x[!is.na(x[[paste0(ep, "__time")]]) & !is.na(x[[paste0(ep, "__event")]]), ]
}
surv_formula <- function(ep, rhs) as.formula(sprintf("Surv(%s__time, %s__event) ~ %s", ep, ep, rhs))

## ---------------------------------------------------------------------------
## Kaplan-Meier at 12 months
## ---------------------------------------------------------------------------
LANDMARK <- 12
km_rows <- list()
km_one <- function(fit_strata, label) {
  ## fit_strata: a survfit for one group (no strata)
  s <- summary(fit_strata, times = LANDMARK, extend = TRUE)
  tab <- summary(fit_strata)$table
  flat_half <- any(abs(fit_strata$surv - 0.5) < 1e-12)
  c(label, list(
    time = jnum(LANDMARK), survival = jnum(s$surv), lower = jnum(s$lower), upper = jnum(s$upper),
    n_risk = jnum(s$n.risk), n = jnum(tab[["n.start"]]), events = jnum(tab[["events"]]),
    median = jnum(tab[["median"]]), flat_at_half = unbox(flat_half)))
}
km_endpoints <- list(PFS = names(cohorts), PFS2 = "Overall", DoR = names(cohorts))
for (ep in names(km_endpoints)) {
  for (cname in km_endpoints[[ep]]) {
    x <- endpoint_frame(ep, cname)
    fit <- survfit(surv_formula(ep, "1"), data = x, conf.type = "log")
    km_rows[[length(km_rows) + 1]] <- km_one(fit, list(
      endpoint = unbox(ep), cohort = unbox(cname), factor = unbox("All"), level = unbox("")))
  }
}
## factors with km = true (default): brain_met, liver_met, anti_her2_lines_group
km_factors <- list(brain_met = c("Overall", "HER2-low", "HER2-positive"),
                   liver_met = c("HER2-low", "HER2-positive"),
                   anti_her2_lines_group = c("HER2-positive"))
for (f in names(km_factors)) {
  for (cname in km_factors[[f]]) {
    x <- endpoint_frame("PFS", cname)
    x <- x[!is.na(x[[f]]), ]
    for (lv in sort(unique(as.character(x[[f]])))) {
      xl <- x[as.character(x[[f]]) == lv, ]
      fit <- survfit(surv_formula("PFS", "1"), data = xl, conf.type = "log")
      km_rows[[length(km_rows) + 1]] <- km_one(fit, list(
        endpoint = unbox("PFS"), cohort = unbox(cname), factor = unbox(f), level = unbox(lv)))
    }
  }
}

## ---------------------------------------------------------------------------
## Log-rank grid (Table 3)
## ---------------------------------------------------------------------------
lr_grid <- list(
  age_ge50 = c("HER2-low", "HER2-positive"),
  brain_met = c("Overall", "HER2-low", "HER2-positive"),
  liver_met = c("HER2-low", "HER2-positive"),
  bone_met = c("HER2-low", "HER2-positive"),
  prior_cdk46 = c("HER2-low"),
  prior_anti_her2 = c("HER2-positive"),
  lines_ge3 = c("HER2-low", "HER2-positive"),
  anti_her2_lines_group = c("HER2-positive")
)
lr_rows <- list()
for (f in names(lr_grid)) {
  for (cname in lr_grid[[f]]) {
    x <- endpoint_frame("PFS", cname)
    x <- x[!is.na(x[[f]]), ]
    sd <- survdiff(surv_formula("PFS", f), data = x)
    df <- length(sd$n) - 1
    lr_rows[[length(lr_rows) + 1]] <- list(
      endpoint = unbox("PFS"), cohort = unbox(cname), factor = unbox(f),
      statistic = jnum(sd$chisq), df = jnum(df), p_value = jnum(pchisq(sd$chisq, df, lower.tail = FALSE)))
  }
}

## ---------------------------------------------------------------------------
## Cox models (Efron)
## ---------------------------------------------------------------------------
cox_models <- list(
  list(model = "Prior anti-HER2 lines < 3 vs >= 3", cohort = "HER2-positive", rhs = "anti_her2_lines_lt3",
       monotone = TRUE),
  list(model = "Liver metastasis", cohort = "HER2-low", rhs = "liver_met", monotone = FALSE),
  list(model = "HER2 status", cohort = "Overall", rhs = "her2_group", monotone = FALSE)
)
cox_rows <- list()
for (m in cox_models) {
  x <- endpoint_frame("PFS", m$cohort)
  x <- x[!is.na(x[[m$rhs]]), ]
  fit <- suppressWarnings(coxph(surv_formula("PFS", m$rhs), data = x, ties = "efron"))
  s <- summary(fit)
  co <- s$coefficients
  ci <- s$conf.int
  for (i in seq_len(nrow(co))) {
    cox_rows[[length(cox_rows) + 1]] <- list(
      model = unbox(m$model), cohort = unbox(m$cohort), term = unbox(rownames(co)[i]),
      monotone = unbox(m$monotone),
      coef = jnum(co[i, "coef"]), se = jnum(co[i, "se(coef)"]), hr = jnum(co[i, "exp(coef)"]),
      hr_lower = jnum(ci[i, "lower .95"]), hr_upper = jnum(ci[i, "upper .95"]),
      p = jnum(co[i, "Pr(>|z|)"]),
      loglik_initial = jnum(fit$loglik[1]), loglik_final = jnum(fit$loglik[2]),
      lr_statistic = jnum(s$logtest[["test"]]), lr_df = jnum(s$logtest[["df"]]),
      lr_p = jnum(s$logtest[["pvalue"]]), n = jnum(fit$n), events = jnum(fit$nevent))
  }
}

## ---------------------------------------------------------------------------
## Clopper-Pearson (binom.test)
## ---------------------------------------------------------------------------
binom_row <- function(kind, rate, cname, k, n) {
  ci <- binom.test(k, n, conf.level = 0.95)$conf.int
  list(table = unbox(kind), rate = unbox(rate), cohort = unbox(cname), x = jnum(k), n = jnum(n),
       estimate = jnum(k / n), lower = jnum(ci[1]), upper = jnum(ci[2]))
}
binom_rows <- list()
for (cname in names(cohorts)) {
  x <- cohorts[[cname]]
  r <- x$best_response
  n <- nrow(x)
  orr <- sum(r %in% c("CR", "PR"))
  dcr <- sum(r %in% c("CR", "PR", "SD"))
  cbr <- orr + sum(!is.na(r) & r == "SD" & !is.na(x$sd_weeks) & x$sd_weeks >= 24)
  binom_rows[[length(binom_rows) + 1]] <- binom_row("response", "ORR", cname, orr, n)
  binom_rows[[length(binom_rows) + 1]] <- binom_row("response", "DCR", cname, dcr, n)
  binom_rows[[length(binom_rows) + 1]] <- binom_row("response", "CBR", cname, cbr, n)
}
grades <- c("Neutropenia" = "ae_neutropenia_grade", "Nausea" = "ae_nausea_grade",
            "Anemia" = "ae_anemia_grade", "Interstitial lung disease" = "ae_ild_grade")
for (lab in names(grades)) {
  for (g in list(c(1, "any grade"), c(3, "grade >= 3"))) {
    for (cname in names(cohorts)) {
      x <- cohorts[[cname]][[grades[[lab]]]]
      k <- sum(!is.na(x) & x >= as.numeric(g[1]))
      binom_rows[[length(binom_rows) + 1]] <- binom_row("safety", paste0(lab, ", ", g[2]), cname, k, length(x))
    }
  }
}

## ---------------------------------------------------------------------------
## Median follow-up (reverse Kaplan-Meier) and observed times
## ---------------------------------------------------------------------------
fu_rows <- list()
for (ep in names(km_endpoints)) {
  for (cname in km_endpoints[[ep]]) {
    x <- endpoint_frame(ep, cname)
    tm <- x[[paste0(ep, "__time")]]
    rev <- survfit(Surv(tm, 1 - x[[paste0(ep, "__event")]]) ~ 1, conf.type = "log")
    fu_rows[[length(fu_rows) + 1]] <- list(
      endpoint = unbox(ep), cohort = unbox(cname),
      reverse_km_median = jnum(summary(rev)$table[["median"]]),
      flat_at_half = unbox(any(abs(rev$surv - 0.5) < 1e-12)),
      median_observed = jnum(median(tm)), min = jnum(min(tm)), max = jnum(max(tm)))
  }
}

## ---------------------------------------------------------------------------
## Table 4 ([[compare]] on PFS): age < 65 vs >= 65 overall, prior T-DM1 in HER2-positive,
## leptomeningeal metastasis overall
## ---------------------------------------------------------------------------
compares <- list(
  list(name = "Age (< 65 vs >= 65)", column = "age_ge65", cohort = "Overall"),
  list(name = "Prior T-DM1 (1 = yes vs 0 = no)", column = "prior_tdm1", cohort = "HER2-positive"),
  list(name = "Leptomeningeal metastasis (1 = yes vs 0 = no)", column = "leptomeningeal", cohort = "Overall")
)
cmp_rows <- list()
for (cm in compares) {
  x0 <- cohorts[[cm$cohort]]
  v0 <- as.character(x0[[cm$column]])
  for (lv in sort(unique(v0[!is.na(v0)]))) {
    xl <- x0[!is.na(v0) & v0 == lv, ]
    xe <- endpoint_frame("PFS", cm$cohort)
    ve <- as.character(xe[[cm$column]])
    xe <- xe[!is.na(ve) & ve == lv, ]
    fit <- survfit(surv_formula("PFS", "1"), data = xe, conf.type = "log")
    k_orr <- sum(xl$best_response %in% c("CR", "PR"))
    ci <- binom.test(k_orr, nrow(xl), conf.level = 0.95)$conf.int
    cmp_rows[[length(cmp_rows) + 1]] <- list(
      comparison = unbox(cm$name), level = unbox(lv), n = jnum(nrow(xl)),
      median = jnum(summary(fit)$table[["median"]]), flat_at_half = unbox(any(abs(fit$surv - 0.5) < 1e-12)),
      orr_n = jnum(k_orr), orr = jnum(k_orr / nrow(xl)), orr_lower = jnum(ci[1]), orr_upper = jnum(ci[2]),
      dcr_n = jnum(sum(xl$best_response %in% c("CR", "PR", "SD"))))
  }
}

## ---------------------------------------------------------------------------
out <- list(
  meta = list(
    description = unbox("riskset/study/examples/tdxd.toml recomputed with R survival on riskset/datasets/tdxd.csv"),
    script = unbox("tests/reference/make_study_r.R"),
    R = unbox(R.version.string),
    survival = unbox(as.character(packageVersion("survival"))),
    jsonlite = unbox(as.character(packageVersion("jsonlite"))),
    data_md5 = unbox(unname(tools::md5sum(CSV))),
    landmark = jnum(LANDMARK), month_days = jnum(MONTH),
    cohort_sizes = lapply(cohorts, function(x) jnum(nrow(x)))
  ),
  km = km_rows, logrank = lr_rows, cox = cox_rows, binomial = binom_rows,
  followup = fu_rows, compare = cmp_rows
)
path <- file.path(OUT_DIR, "tdxd_r.json")
writeLines(toJSON(out, json_verbatim = TRUE, auto_unbox = FALSE, pretty = TRUE, digits = NA, na = "null"),
           path, useBytes = TRUE)
cat("wrote", path, "\n")
