// Starts GOV.UK Frontend's components. A module script, loaded from this app (the
// Content-Security-Policy allows no inline script but GOV.UK Frontend's one-line class switch,
// which carries the page's nonce); browsers without ES modules skip it and get the plain pages.
import { initAll } from "./govuk-frontend/govuk-frontend.min.js";

initAll();
