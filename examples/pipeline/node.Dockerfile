# The image of the TypeScript actors (chunk, refine): built FROM the asya image, whose `asya runtime` runs
# the handlers without a build step. inject-sidecar starts it as `node /app/dist/asya.js runtime`, from
# /app, so ASYA_HANDLER=handlers/chunk.ts#process finds /app/handlers/chunk.ts.
#   docker build -t asya:0.1.0 ../..
#   docker build -f node.Dockerfile -t registry.example.com/asya-examples/pipeline-node:0.1.0 .
ARG ASYA_IMAGE=asya:0.1.0
FROM ${ASYA_IMAGE}
COPY handlers/ /app/handlers/
