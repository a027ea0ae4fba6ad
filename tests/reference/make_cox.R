#!/usr/bin/env Rscript
## Reference fixtures for riskset: Cox proportional hazards (survival::coxph).
##
## Usage (from the repository root; make_r.R must have written its CSVs first,
## because veteran.csv and ovarian.csv are read from there):
##   Rscript tests/reference/make_cox.R
##
## 1. Writes the extra data sets the Cox cases need as CSV into
##    tests/reference/data/ (R data sets with a 0/1 `event` column, complete-case
##    subsets, and the seeded synthetic sets cox_ties and cox_mono).
## 2. Reads every data set back from its CSV (so R and Python see exactly the
##    same values) and writes one JSON fixture per case into
##    tests/reference/fixtures/cox/.
## 3. Writes tests/reference/fixtures/manifest_cox.json (versions, date, md5s).
##
## See the "Cox" section of tests/reference/README.md for the JSON schema.
## Number encoding is the one of make_r.R: shortest round-tripping decimal
## (<= 17 significant digits), NA/NaN -> null, Inf -> "Inf", -Inf -> "-Inf".

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

## Character covariates become factors whose levels are sort(unique(x)); with
## C collation that is byte order, the same as Python's sorted().
invisible(Sys.setlocale("LC_COLLATE", "C"))
## Fixed RNG kinds (R >= 3.6 defaults), so the seeded data sets are stable.
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
COX_DIR <- file.path(FIX_DIR, "cox")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)
dir.create(COX_DIR, showWarnings = FALSE, recursive = TRUE)

## ---------------------------------------------------------------------------
## Number formatting and JSON helpers (json_helpers.R, shared with make_r.R)
## ---------------------------------------------------------------------------

source(file.path(REF_DIR, "json_helpers.R"))

## ---------------------------------------------------------------------------
## Data sets written by this script
## ---------------------------------------------------------------------------

complete <- function(d, cols) d[stats::complete.cases(d[, cols]), , drop = FALSE]

## lung: complete cases of the model columns (lung has NAs in ph.ecog)
lung_cox <- local({
  d <- survival::lung
  d$event <- as.integer(d$status - 1)
  complete(d[, c("time", "status", "event", "age", "sex", "ph.ecog")],
           c("time", "event", "age", "sex", "ph.ecog"))
})

## colon, death records (etype == 2), complete cases; rx stays character
colon_cox <- local({
  d <- survival::colon[survival::colon$etype == 2, ]
  d$event <- as.integer(d$status)
  d$rx <- as.character(d$rx)
  complete(d[, c("id", "time", "status", "event", "rx", "age", "nodes")],
           c("time", "event", "rx", "age", "nodes"))
})

## pbc, the 312 randomized patients, with log(bili) precomputed
pbc_cox <- local({
  d <- survival::pbc[1:312, ]
  d$event <- as.integer(d$status == 2)
  d$logbili <- log(d$bili)
  d[, c("id", "time", "status", "event", "age", "edema", "bili", "logbili")]
})

## gbsg with a character grade ("G1" < "G2" < "G3"); numeric grade kept for strata()
gbsg_cox <- local({
  d <- survival::gbsg
  d$event <- as.integer(d$status)
  d$gradef <- paste0("G", d$grade)
  d
})

## rotterdam as is (size is the character "<=20" / "20-50" / ">50"), event = death
rotterdam <- local({
  d <- survival::rotterdam
  d$size <- as.character(d$size)
  d$event <- as.integer(d$death)
  d
})

## flchain: a 2000-row subsample (fixed seed), event = death.  `row` is the row
## number in survival::flchain.
flchain <- local({
  set.seed(20240404)
  idx <- sort(sample.int(nrow(survival::flchain), 2000))
  d <- survival::flchain[idx, ]
  d <- cbind(row = idx, d)
  d$sex <- as.character(d$sex)
  d$chapter <- as.character(d$chapter)
  d$event <- as.integer(d$death)
  d
})

bladder2 <- local({
  d <- survival::bladder2
  d$event <- as.integer(d$event)
  d[, c("start", "stop", "event", "rx", "number", "size", "enum", "id")]
})

## heart: transplant is the factor 0/1 in R; written as the integer 0/1, so the
## coefficient is called "transplant" (R's own data would give "transplant1").
heart <- local({
  d <- survival::heart
  d$event <- as.integer(d$event)
  d$transplant <- as.integer(as.character(d$transplant))
  d[, c("start", "stop", "event", "age", "year", "surgery", "transplant", "id")]
})

## cox_mono: 40 rows, monotone likelihood.  Nobody with lines3 == 1 has an
## event, but they stay at risk throughout, so the partial likelihood keeps
## increasing as the lines3 coefficient goes to -Inf.
cox_mono <- local({
  set.seed(20240606)
  n <- 40
  lines3 <- rep(c(0L, 1L), c(30, 10))
  x <- round(rnorm(n), 3)
  t_ev <- rexp(n, rate = 0.08 * exp(0.4 * x))
  t_cen <- runif(n, 6, 30)
  time <- round(pmin(t_ev, t_cen), 2)
  event <- as.integer(t_ev <= t_cen)
  event[lines3 == 1L] <- 0L
  ## lines3 == 1: censored late, well inside the follow-up
  time[lines3 == 1L] <- round(runif(10, 8, 30), 2)
  data.frame(id = seq_len(n), time = time, event = event, lines3 = lines3, x = x)
})

## cox_ties: n = 500, integer months 1..24 (heavy ties), covariates age
## (continuous), x (0/1), arm (character A/B/C); non-integer weights w; cluster
## centre (1..10, with a shared frailty); offset off; strata site (s1/s2/s3).
cox_ties <- local({
  set.seed(20240505)
  n <- 500
  centre <- sample.int(10, n, replace = TRUE)
  site <- c("s1", "s2", "s3")[(centre - 1) %% 3 + 1]
  arm <- sample(c("A", "B", "C"), n, replace = TRUE)
  age <- round(rnorm(n, 62, 9), 1)
  x <- rbinom(n, 1, 0.4)
  off <- round(rnorm(n, 0, 0.3), 3)
  w <- round(runif(n, 0.3, 2.5), 4)
  frail <- rnorm(10, 0, 0.3)[centre]
  base <- c(s1 = 0.04, s2 = 0.06, s3 = 0.05)[site]
  lp <- 0.02 * (age - 62) + 0.5 * x + c(A = 0, B = -0.35, C = 0.25)[arm] + off + frail
  t_ev <- rexp(n, rate = base * exp(lp))
  t_cen <- runif(n, 3, 40)
  t <- pmin(t_ev, t_cen)
  event <- as.integer(t_ev <= t_cen)
  month <- pmax(1, ceiling(t))
  event[month > 24] <- 0L
  month <- pmin(month, 24)
  data.frame(id = seq_len(n), time = month, event = event, age = age, x = x,
             arm = arm, w = w, centre = centre, off = off, site = site,
             stringsAsFactors = FALSE)
})

## cox_cat: n = 4000, integer months 1..24, categorical covariates only (x 0/1, arm
## A/B/C), strata site: few distinct (time, status, covariate) rows, so riskset fits it
## on merged rows with counts (engine.cox.collapse); these fixtures check that path.
cox_cat <- local({
  set.seed(20261201)
  n <- 4000
  site <- sample(c("s1", "s2", "s3"), n, replace = TRUE)
  arm <- sample(c("A", "B", "C"), n, replace = TRUE)
  x <- rbinom(n, 1, 0.45)
  base <- c(s1 = 0.04, s2 = 0.06, s3 = 0.05)[site]
  lp <- 0.4 * x + c(A = 0, B = -0.3, C = 0.2)[arm]
  t_ev <- rexp(n, rate = base * exp(lp))
  t_cen <- runif(n, 2, 36)
  month <- pmax(1, ceiling(pmin(t_ev, t_cen)))
  event <- as.integer(t_ev <= t_cen)
  event[month > 24] <- 0L
  month <- pmin(month, 24)
  data.frame(time = month, event = event, x = x, arm = arm, site = site,
             stringsAsFactors = FALSE)
})

NEW_DATA <- list(lung_cox = lung_cox, colon_cox = colon_cox, pbc_cox = pbc_cox,
                 gbsg_cox = gbsg_cox, rotterdam = rotterdam, flchain = flchain,
                 bladder2 = bladder2, heart = heart, cox_mono = cox_mono,
                 cox_ties = cox_ties, cox_cat = cox_cat)
data_written <- character(0)
for (nm in names(NEW_DATA))
  data_written <- c(data_written, write_data_csv(NEW_DATA[[nm]], nm))

## Read every data set back from its CSV.  veteran and ovarian come from make_r.R.
INPUT_DATA <- c("veteran", "ovarian")
DATA_NAMES <- c(names(NEW_DATA), INPUT_DATA)
DATA_ENV <- new.env(parent = globalenv())
for (nm in DATA_NAMES) {
  f <- file.path(DATA_DIR, paste0(nm, ".csv"))
  if (!file.exists(f)) stop("missing ", f, " -- run make_r.R first")
  assign(nm, read.csv(f, stringsAsFactors = FALSE), envir = DATA_ENV)
}

## ---------------------------------------------------------------------------
## One Cox fixture
## ---------------------------------------------------------------------------

MAX_RESID_ROWS <- 700
written <- character(0)

## "site=s1" -> "s1"
strip_strata <- function(lab) sub("^[^=]*=", "", lab)

## newdata rows -> list of {col: value}; numbers as exact JSON numbers
newdata_json <- function(nd) {
  lapply(seq_len(nrow(nd)), function(i) {
    row <- lapply(names(nd), function(col) {
      v <- nd[[col]][i]
      if (is.character(v)) unbox(v) else jnum(v)
    })
    setNames(row, names(nd))
  })
}

## Fit the model, capturing warnings (returned verbatim, in order)
fit_capture <- function(cl) {
  warns <- character(0)
  fit <- withCallingHandlers(eval(cl, DATA_ENV), warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(fit = fit, warnings = warns)
}

## statistic from the fit object (summary.coxph rounds the Wald statistic to
## 2 decimals), df as summary.coxph, p = pchisq(statistic, df, lower.tail = FALSE)
test_json <- function(stat, df) {
  if (is.null(stat)) return(JNULL)
  stat <- unname(as.vector(stat))
  list(statistic = jnum(stat), df = jnum(df), p = jnum(pchisq(stat, df, lower.tail = FALSE)))
}

cox_fixture <- function(case, data, covariates, time = "time", event = "event",
                        entry = NULL, strata = character(0), weights = NULL,
                        cluster = NULL, offset = NULL, ties = "efron",
                        newdata = NULL) {
  rhs <- covariates
  if (!is.null(offset)) rhs <- c(rhs, sprintf("offset(%s)", offset))
  if (length(strata)) rhs <- c(rhs, sprintf("strata(%s)", paste(strata, collapse = ", ")))
  if (!is.null(cluster)) rhs <- c(rhs, sprintf("cluster(%s)", cluster))
  lhs <- if (is.null(entry)) sprintf("Surv(%s, %s)", time, event)
         else sprintf("Surv(%s, %s, %s)", entry, time, event)
  cl <- call("coxph", str2lang(paste(lhs, "~", paste(rhs, collapse = " + "))),
             data = as.name(data))
  if (!is.null(weights)) cl$weights <- as.name(weights)
  cl$ties <- ties
  fc <- fit_capture(cl)
  fit <- fc$fit
  d <- get(data, envir = DATA_ENV)
  n <- nrow(d)
  stopifnot(fit$n == n)                      # no rows dropped (complete data)
  robust <- !is.null(fit$naive.var)
  sm <- summary(fit)
  terms <- names(coef(fit))
  p <- length(terms)

  se_model <- sqrt(diag(if (robust) fit$naive.var else fit$var))
  lr <- 2 * diff(fit$loglik)
  df <- unname(sm$logtest["df"])
  stopifnot(isTRUE(all.equal(unname(sm$logtest["test"]), lr)),
            isTRUE(all.equal(pchisq(fit$score, df, lower.tail = FALSE),
                             unname(sm$sctest["pvalue"]))),
            isTRUE(all.equal(pchisq(fit$wald.test, df, lower.tail = FALSE),
                             unname(sm$waldtest["pvalue"]))))
  if (robust) stopifnot(isTRUE(all.equal(unname(fit$rscore), unname(sm$robscore["test"]))))

  ## cox.zph, default transform "km"; tests per term (a factor is one term)
  zph <- tryCatch({
    z <- cox.zph(fit)$table
    list(terms = I(rownames(z)), chisq = jarr(z[, "chisq"]), df = jarr(z[, "df"]),
         p = jarr(z[, "p"]))
  }, error = function(e) { message(case, ": cox.zph failed: ", conditionMessage(e)); JNULL })

  ## residuals, data row order; R defaults (dfbeta weighted by the case
  ## weights, the others unweighted).  score / schoenfeld / dfbeta do not exist
  ## for ties = "exact".
  resid <- JNULL
  if (n <= MAX_RESID_ROWS) {
    rmat <- function(type) {
      if (ties == "exact" && type %in% c("score", "schoenfeld", "dfbeta")) return(NULL)
      r <- residuals(fit, type = type)
      if (is.matrix(r)) r else matrix(r, ncol = 1)
    }
    sch <- rmat("schoenfeld")
    schoenfeld <- JNULL
    if (!is.null(sch)) {
      ## rows of the Schoenfeld matrix: events sorted by (stratum, time), ties
      ## in data order -- the same `ord` as residuals.coxph
      gd <- survival:::coxph.getdata(fit, y = TRUE, x = TRUE, stratax = TRUE)
      y <- gd$y
      ny <- ncol(y)
      st <- if (is.null(gd$strata)) rep(1L, n) else as.integer(gd$strata)
      ord <- order(st, y[, ny - 1], -y[, ny])
      rows <- ord[y[ord, ny] == 1]
      stopifnot(nrow(sch) == length(rows),
                isTRUE(all.equal(as.numeric(rownames(sch)), unname(y[rows, ny - 1]))))
      schoenfeld <- list(time = jarr(unname(y[rows, ny - 1])), row = jarr(rows),
                         strata = if (is.null(gd$strata)) JNULL
                                  else I(strip_strata(as.character(gd$strata[rows]))),
                         values = jmat(sch))
    }
    sc <- rmat("score"); dfb <- rmat("dfbeta")
    resid <- list(
      martingale = jarr(residuals(fit, type = "martingale")),
      deviance = jarr(residuals(fit, type = "deviance")),
      score = if (is.null(sc)) JNULL else jmat(sc),
      schoenfeld = schoenfeld,
      dfbeta = if (is.null(dfb)) JNULL else jmat(dfb))
  }

  ## basehaz(fit, centered = FALSE)
  bh <- basehaz(fit, centered = FALSE)
  basehaz <- list(time = jarr(bh$time), hazard = jarr(bh$hazard),
                  strata = if (is.null(bh$strata)) JNULL
                           else I(strip_strata(as.character(bh$strata))))

  ## survfit(fit, newdata = one row) for each newdata row (conf.type "log", 0.95)
  sf <- JNULL
  if (!is.null(newdata)) {
    curves <- lapply(seq_len(nrow(newdata)), function(i) {
      s <- survfit(fit, newdata = newdata[i, , drop = FALSE])
      stopifnot(is.null(dim(s$surv)))
      list(time = jarr(s$time), surv = jarr(s$surv), std_err = jarr(s$std.err),
           lower = jarr(s$lower), upper = jarr(s$upper), cumhaz = jarr(s$cumhaz))
    })
    sf <- list(newdata = newdata_json(newdata), conf_type = "log",
               conf_level = jnum(0.95), curves = curves)
  }

  fx <- list(
    case = case,
    call = deparse1line(cl),
    data = paste0(data, ".csv"),
    roles = list(time = time, event = event, entry = jstr_or_null(entry),
                 covariates = I(covariates), strata = I(strata),
                 weights = jstr_or_null(weights), cluster = jstr_or_null(cluster),
                 offset = jstr_or_null(offset)),
    ties = ties,
    robust = robust,
    terms = I(terms),
    coef = jarr(coef(fit)),
    se = jarr(se_model),
    robust_se = if (robust) jarr(sqrt(diag(fit$var))) else JNULL,
    var = jmat(fit$var),
    naive_var = if (robust) jmat(fit$naive.var) else JNULL,
    means = jarr(fit$means),
    loglik = jarr(fit$loglik),
    iter = jnum(fit$iter),
    n = jnum(fit$n),
    nevent = jnum(fit$nevent),
    lr_test = test_json(lr, df),
    wald_test = test_json(fit$wald.test, df),
    score_test = test_json(fit$score, df),
    robust_score_test = if (robust) test_json(fit$rscore, df) else JNULL,
    concordance = list(value = jnum(fit$concordance[["concordance"]]),
                       se = jnum(fit$concordance[["std"]])),
    zph = zph,
    residuals = resid,
    basehaz = basehaz,
    survfit = sf,
    warnings = I(fc$warnings))
  if (!is.null(offset)) {
    w <- if (is.null(weights)) rep(1, n) else d[[weights]]
    fx$offset_mean <- jnum(sum(d[[offset]] * w) / sum(w))
  }
  path <- file.path(COX_DIR, paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
  cat(sprintf("%-24s n=%4d p=%d iter=%2d %s\n", case, n, p, fit$iter,
              paste(fc$warnings, collapse = " | ")))
  invisible(fit)
}

nd <- function(...) data.frame(..., stringsAsFactors = FALSE)

## ---------------------------------------------------------------------------
## Cases
## ---------------------------------------------------------------------------

lung_nd <- nd(age = c(60, 70), sex = c(1, 2), ph.ecog = c(0, 2))
for (tt in c("efron", "breslow", "exact"))
  cox_fixture(paste0("lung_", tt), "lung_cox", c("age", "sex", "ph.ecog"),
              ties = tt, newdata = lung_nd)

vet_nd <- nd(trt = c(1, 2), karno = c(60, 80), age = c(60, 50),
             celltype = c("squamous", "adeno"))
for (tt in c("efron", "breslow"))
  cox_fixture(paste0("veteran_", tt), "veteran", c("trt", "karno", "age", "celltype"),
              ties = tt, newdata = vet_nd)

ov_nd <- nd(age = c(50, 65), rx = c(1, 2))
for (tt in c("efron", "exact"))
  cox_fixture(paste0("ovarian_", tt), "ovarian", c("age", "rx"), time = "futime",
              ties = tt, newdata = ov_nd)

cox_fixture("colon_efron", "colon_cox", c("rx", "age", "nodes"),
            newdata = nd(rx = c("Obs", "Lev+5FU"), age = c(60, 60), nodes = c(2, 5)))

cox_fixture("pbc_efron", "pbc_cox", c("age", "edema", "logbili"),
            newdata = nd(age = c(50, 60), edema = c(0, 1), logbili = c(0, 1.5)))

gbsg_cov <- c("age", "size", "nodes", "pgr", "er", "hormon")
gbsg_nd <- nd(age = c(50, 60), size = c(20, 35), nodes = c(1, 6), pgr = c(100, 10),
              er = c(80, 10), hormon = c(1, 0))
cox_fixture("gbsg_efron", "gbsg_cox", c(gbsg_cov, "gradef"), time = "rfstime",
            newdata = cbind(gbsg_nd, gradef = c("G1", "G3"), stringsAsFactors = FALSE))
cox_fixture("gbsg_strata_grade", "gbsg_cox", gbsg_cov, time = "rfstime",
            strata = "grade", newdata = cbind(gbsg_nd, grade = c(1, 3)))

cox_fixture("rotterdam_efron", "rotterdam", c("age", "size", "nodes", "hormon", "chemo"),
            time = "dtime",
            newdata = nd(age = c(50, 65), size = c("<=20", "20-50"), nodes = c(0, 4),
                         hormon = c(0, 1), chemo = c(0, 1)))

cox_fixture("flchain_efron", "flchain", c("age", "sex", "sample.yr"), time = "futime",
            newdata = nd(age = c(60, 75), sex = c("F", "M"), sample.yr = c(1995, 1999)))

ties_cov <- c("age", "x", "arm")
ties_nd <- nd(age = c(55, 70), x = c(0, 1), arm = c("A", "C"))
cox_fixture("cox_ties_efron", "cox_ties", ties_cov, newdata = ties_nd)
cox_fixture("cox_ties_w", "cox_ties", ties_cov, weights = "w", newdata = ties_nd)
cox_fixture("cox_ties_cluster", "cox_ties", ties_cov, cluster = "centre", newdata = ties_nd)
cox_fixture("cox_ties_w_cluster", "cox_ties", ties_cov, weights = "w", cluster = "centre",
            newdata = ties_nd)
cox_fixture("cox_ties_offset", "cox_ties", ties_cov, offset = "off",
            newdata = cbind(ties_nd, off = c(0, 0.25)))
cox_fixture("cox_ties_strata", "cox_ties", ties_cov, strata = "site",
            newdata = cbind(ties_nd, site = c("s1", "s3"), stringsAsFactors = FALSE))
cox_fixture("cox_ties_breslow", "cox_ties", ties_cov, ties = "breslow", newdata = ties_nd)
cox_fixture("cox_ties_exact", "cox_ties", ties_cov, ties = "exact", newdata = ties_nd)

cat_nd <- nd(x = c(0, 1), arm = c("A", "C"))
cox_fixture("cox_cat_efron", "cox_cat", c("x", "arm"), newdata = cat_nd)
cox_fixture("cox_cat_breslow", "cox_cat", c("x", "arm"), ties = "breslow", newdata = cat_nd)
cox_fixture("cox_cat_strata", "cox_cat", c("x", "arm"), strata = "site",
            newdata = cbind(cat_nd, site = c("s1", "s3"), stringsAsFactors = FALSE))

cox_fixture("bladder2_cluster", "bladder2", c("rx", "size", "number"), time = "stop",
            entry = "start", cluster = "id",
            newdata = nd(rx = c(1, 2), size = c(1, 3), number = c(1, 4)))

cox_fixture("heart_efron", "heart", c("age", "year", "surgery", "transplant"),
            time = "stop", entry = "start",
            newdata = nd(age = c(-5, 5), year = c(2, 4), surgery = c(0, 1),
                         transplant = c(0, 1)))

cox_fixture("cox_mono_efron", "cox_mono", c("lines3", "x"),
            newdata = nd(lines3 = c(0, 1), x = c(0, 1)))

## ---------------------------------------------------------------------------
## Firth (coxphf), only where the package is installed
## ---------------------------------------------------------------------------
HAVE_COXPHF <- requireNamespace("coxphf", quietly = TRUE)
if (HAVE_COXPHF) {
  cl <- quote(coxphf::coxphf(Surv(time, event) ~ lines3 + x, data = cox_mono))
  ff <- eval(cl, DATA_ENV)
  fx <- list(case = "cox_mono_firth", call = deparse1line(cl), data = "cox_mono.csv",
             terms = I(names(ff$coefficients)), coef = jarr(ff$coefficients),
             se = jarr(sqrt(diag(ff$var))), ci_lower = jarr(ff$ci.lower),
             ci_upper = jarr(ff$ci.upper), ci_method = "profile",
             loglik = jarr(ff$loglik), iter = jnum(ff$iter))
  path <- file.path(COX_DIR, "cox_mono_firth.json")
  write_json_file(list(firth = fx), path)
  written <- c(written, path)
}

## ---------------------------------------------------------------------------
## Manifest
## ---------------------------------------------------------------------------
rel_md5 <- function(files) {
  setNames(as.list(unname(tools::md5sum(files))), substring(files, nchar(REF_DIR) + 2))
}
input_files <- file.path(DATA_DIR, paste0(INPUT_DATA, ".csv"))
manifest <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  coxphf_version = if (HAVE_COXPHF) as.character(packageVersion("coxphf")) else JNULL,
  date = format(Sys.Date(), "%Y-%m-%d"),
  collate = "C",
  rng_kind = I(RNGkind()),
  hash = "md5",
  files = rel_md5(c(data_written, sort(written))),
  inputs = rel_md5(input_files))
write_json_file(manifest, file.path(FIX_DIR, "manifest_cox.json"))
cat(sprintf("wrote %d cox fixtures and %d data files\n", length(written),
            length(data_written)))
