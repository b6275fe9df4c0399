# Maximum-likelihood references for hglm's gamma, lognormal, beta, beta-binomial,
# zero-inflated and hurdle families.
# Run from the repository root:  Rscript tests/reference/glmmtmb_families.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-glmmtmb). Writes
# tests/reference/glmmtmb_families.csv: model, quantity, name, value; the tests read that file,
# so no test needs R.
#
# lognormal: glmmTMB's lognormal family is parametrized by the mean and sd on the data scale,
# a different model from brms's (and hglm's) log y ~ Normal(eta, sigma); that model is lmer on
# log(y) by maximum likelihood, its log-likelihood less sum(log y) (the Jacobian).
suppressMessages({library(glmmTMB); library(lme4)})
sleep <- read.csv("hglm/datasets/data/sleepstudy.csv")
beta_sim <- read.csv("tests/reference/beta_sim.csv")
bb_sim <- read.csv("tests/reference/betabinomial_sim.csv")
zi_sim <- read.csv("tests/reference/zicounts_sim.csv")
hurdle_sim <- read.csv("tests/reference/hurdle_sim.csv")
grouse <- read.csv("hglm/datasets/data/grouseticks.csv")
grouse$YEAR <- factor(grouse$YEAR)
ctrl <- glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4))

rows <- list()
add <- function(model, quantity, name, value) {
  rows[[length(rows) + 1]] <<- data.frame(model = model, quantity = quantity, name = name,
                                          value = sprintf("%.10g", value))
}
tmb <- function(model, fit, dispersion) {
  add(model, "loglik", "", as.numeric(logLik(fit)))
  fe <- fixef(fit)$cond
  for (n in names(fe)) add(model, "fixef", n, fe[[n]])
  vc <- VarCorr(fit)$cond
  for (g in names(vc)) {
    s <- attr(vc[[g]], "stddev")
    for (n in names(s)) add(model, "sd", paste(g, n, sep = "|"), s[[n]])
    co <- attr(vc[[g]], "correlation")
    if (length(s) == 2) add(model, "cor", paste(g, paste(names(s), collapse = ":"), sep = "|"),
                            co[2, 1])
  }
  add(model, "aux", names(dispersion), dispersion[[1]](fit))
}
# gamma: glmmTMB's sigma is the coefficient of variation, shape = 1 / sigma^2
shape <- c(shape = function(fit) 1 / sigma(fit)^2)
tmb("gamma_intercept", glmmTMB(Reaction ~ Days + (1 | Subject), sleep, Gamma(link = "log"),
                               control = ctrl), shape)
tmb("gamma_slope", glmmTMB(Reaction ~ Days + (Days | Subject), sleep, Gamma(link = "log"),
                           control = ctrl), shape)
tmb("gamma_inverse", glmmTMB(Reaction ~ Days + (1 | Subject), sleep, Gamma(link = "inverse"),
                             control = ctrl), shape)
# beta: glmmTMB's sigma is the precision phi
phi <- c(phi = function(fit) sigma(fit))
tmb("beta_intercept", glmmTMB(y ~ x + (1 | g), beta_sim, beta_family(), control = ctrl), phi)
tmb("beta_slope", glmmTMB(y ~ x + (x | g), beta_sim, beta_family(), control = ctrl), phi)
# beta-binomial: glmmTMB's sigma is the precision phi
# (on cbpp the herd sd goes to the boundary, 1e-4: no test of relative accuracy)
tmb("betabinomial_intercept", glmmTMB(cbind(k, n - k) ~ x + (1 | g), bb_sim, betabinomial(),
                                      control = ctrl), phi)
tmb("betabinomial_slope", glmmTMB(cbind(k, n - k) ~ x + (x | g), bb_sim, betabinomial(),
                                  control = ctrl), phi)
# zero-inflated and hurdle counts: the zero probability is glmmTMB's ziformula = ~1 (for the
# truncated families, the hurdle), on the logit scale; nbinom2's sigma is hglm's alpha
zi <- c(zi = function(fit) plogis(fixef(fit)$zi[[1]]))
hu <- c(hu = function(fit) plogis(fixef(fit)$zi[[1]]))
nb <- function(p) c(p, alpha = function(fit) sigma(fit))
tmb_all <- function(model, fit, extras) {
  tmb(model, fit, extras[1])
  if (length(extras) > 1) add(model, "aux", names(extras)[2], extras[[2]](fit))
}
tmb_all("zip_intercept", glmmTMB(TICKS ~ YEAR + (1 | LOCATION), grouse, poisson(),
                                 ziformula = ~1, control = ctrl), zi)
tmb_all("zip_slope", glmmTMB(y ~ x + (x | g), zi_sim, poisson(), ziformula = ~1,
                             control = ctrl), zi)
tmb_all("zinb_intercept", glmmTMB(y ~ x + (1 | g), zi_sim, nbinom2(), ziformula = ~1,
                                  control = ctrl), nb(zi))
tmb_all("zinb_slope", glmmTMB(y ~ x + (x | g), zi_sim, nbinom2(), ziformula = ~1,
                              control = ctrl), nb(zi))
tmb_all("hurdle_poisson_intercept", glmmTMB(TICKS ~ YEAR + (1 | LOCATION), grouse,
                                            truncated_poisson(), ziformula = ~1,
                                            control = ctrl), hu)
tmb_all("hurdle_poisson_slope", glmmTMB(y ~ x + (x | g), zi_sim, truncated_poisson(),
                                        ziformula = ~1, control = ctrl), hu)
tmb_all("hurdle_nb_intercept", glmmTMB(y ~ x + (1 | g), zi_sim, truncated_nbinom2(),
                                       ziformula = ~1, control = ctrl), nb(hu))
tmb_all("hurdle_nb_slope", glmmTMB(y ~ x + (x | g), zi_sim, truncated_nbinom2(),
                                   ziformula = ~1, control = ctrl), nb(hu))

lognormal <- function(model, formula, data, extra_loglik = 0, extra_aux = c()) {
  fit <- lmer(formula, data, REML = FALSE,
              control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
  y <- model.response(model.frame(fit))                 # log y
  add(model, "loglik", "", as.numeric(logLik(fit)) - sum(y) + extra_loglik)
  for (n in names(extra_aux)) add(model, "aux", n, extra_aux[[n]])
  fe <- fixef(fit)
  for (n in names(fe)) add(model, "fixef", n, fe[[n]])
  vc <- as.data.frame(VarCorr(fit))
  for (i in seq_len(nrow(vc))) {
    if (vc$grp[i] == "Residual") next
    if (is.na(vc$var2[i])) add(model, "sd", paste(vc$grp[i], vc$var1[i], sep = "|"), vc$sdcor[i])
    else add(model, "cor", paste(vc$grp[i], paste(vc$var1[i], vc$var2[i], sep = ":"), sep = "|"),
             vc$sdcor[i])
  }
  add(model, "aux", "sigma", sigma(fit))
}
lognormal("lognormal_intercept", log(Reaction) ~ Days + (1 | Subject), sleep)
lognormal("lognormal_slope", log(Reaction) ~ Days + (Days | Subject), sleep)
# hurdle lognormal: with a constant hurdle the likelihood factorizes, hu = share of zeros and
# the positives' lognormal model by lmer on log y
positive <- hurdle_sim[hurdle_sim$y > 0, ]
n0 <- sum(hurdle_sim$y == 0)
hurdle_part <- n0 * log(n0 / nrow(hurdle_sim)) +
  nrow(positive) * log(1 - n0 / nrow(hurdle_sim))
lognormal("hurdle_lognormal_intercept", log(y) ~ x + (1 | g), positive, hurdle_part,
          c(hu = n0 / nrow(hurdle_sim)))
lognormal("hurdle_lognormal_slope", log(y) ~ x + (x | g), positive, hurdle_part,
          c(hu = n0 / nrow(hurdle_sim)))

out <- do.call(rbind, rows)
out$name <- gsub("\\(Intercept\\)", "Intercept", out$name)
write.csv(out, "tests/reference/glmmtmb_families.csv", row.names = FALSE, quote = TRUE)
cat("glmmTMB", as.character(packageVersion("glmmTMB")), "lme4",
    as.character(packageVersion("lme4")), R.version.string, "\n")
