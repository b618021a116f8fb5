"""The foundation every room stands on: errors, value checks, atomic writes, the trust rule
for received files, resource limits and the process settings. It imports nothing else of vae-exp."""
