# The asya images. `docker build -t asya:dev .` builds the last stage, the full image: every component
# (`asya sidecar`, `asya gateway`, `asya controller`, `asya crew happy-end|error-end`, `asya runtime` for
# JS/TS handlers) and the Python runtime file for the runtime ConfigMap.
# `docker build --target sidecar -t asya-sidecar:dev .` builds the lean image every actor pod pulls: the
# sidecar and the crew only (cli/build.ts), with no node_modules, so no embedded database, cdk8s,
# Kubernetes client, esbuild or tsx (`make image-sizes` measures both). Neither is built in this repository's
# tests: there is no container engine on the CI machine.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json && rm -rf dist && npx tsx cli/build.ts dist && npx tsx krm-functions/build.ts dist/krm \
 && npm prune --omit=dev

# The sidecar image: dist/asya.js runs `sidecar`, `crew <role>` and `runtime` (the crew handlers, bundled
# as JavaScript in /app/crew); every dependency is inside the bundle.
FROM node:22-bookworm-slim AS sidecar
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/dist/sidecar/ ./
USER 1000:1000
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/asya.js"]
CMD ["help"]

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/*.js ./dist/
# initdb's result: `asya dev` in this image starts its embedded store from it (gateway/store/pglite-template.ts).
COPY --from=build /src/dist/pglite ./dist/pglite
COPY --from=build /src/runtime/python/asya_runtime.py ./runtime/python/asya_runtime.py
# The crew handlers are TypeScript loaded by `asya runtime` (through tsx) and import these folders.
COPY --from=build /src/crew ./crew
COPY --from=build /src/protocol ./protocol
COPY --from=build /src/api ./api
# The console's static files: the gateway serves them at /ui from ../gateway/ui beside dist/.
COPY --from=build /src/gateway/ui ./gateway/ui
# `asya` on PATH for shells: the ArgoCD plugin sidecar (deploy/argocd/cmp) runs `asya render` through sh -c.
RUN printf '#!/bin/sh\nexec node /app/dist/asya.js "$@"\n' > /usr/local/bin/asya && chmod 755 /usr/local/bin/asya
# Non-root and read-only friendly: nothing is written under /app; sockets live in /var/run/asya (emptyDir).
USER 1000:1000
# A small young generation keeps the sidecar's RSS low with no measurable cost in bench/hop.
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/asya.js"]
CMD ["help"]
