# One image for every Asya component: `asya sidecar`, `asya gateway`, `asya crew happy-end|error-end`,
# `asya runtime` (JS/TS handlers) and the Python runtime file for the runtime ConfigMap.
#   docker build -t asya:dev .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json && rm -rf dist && npx esbuild cli/bin.ts --bundle --splitting --platform=node \
      --target=node20 --format=esm --packages=external --outdir=dist --entry-names=asya --log-level=warning \
 && npx tsx krm-functions/build.ts dist/krm \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/runtime/python/asya_runtime.py ./runtime/python/asya_runtime.py
# The crew handlers are TypeScript loaded by `asya runtime` (through tsx) and import these folders.
COPY --from=build /src/crew ./crew
COPY --from=build /src/protocol ./protocol
COPY --from=build /src/api ./api
# `asya` on PATH for shells: the ArgoCD plugin sidecar (deploy/argocd/cmp) runs `asya render` through sh -c.
RUN printf '#!/bin/sh\nexec node /app/dist/asya.js "$@"\n' > /usr/local/bin/asya && chmod 755 /usr/local/bin/asya
# Non-root and read-only friendly: nothing is written under /app; sockets live in /var/run/asya (emptyDir).
USER 1000:1000
# A small young generation keeps the sidecar's RSS low with no measurable cost in bench/hop.
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/asya.js"]
CMD ["help"]
