# The image of the TypeScript actor (sentiment): built FROM the asya image, whose `asya runtime` runs the
# handler without a build step. inject-sidecar starts it as `node /app/dist/asya.js runtime`, from /app, so
# ASYA_HANDLER=handlers/sentiment.ts#process finds /app/handlers/sentiment.ts. A plain node image has no
# /app/dist/asya.js, so the runtime container would not start.
#   docker build -t asya:0.1.0 ../..
#   docker build -f node.Dockerfile -t registry.example.com/asya-examples/hello-node:0.1.0 .
ARG ASYA_IMAGE=asya:0.1.0
FROM ${ASYA_IMAGE}
COPY handlers/sentiment.ts /app/handlers/sentiment.ts
