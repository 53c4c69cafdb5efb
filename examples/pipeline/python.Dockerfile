# The image of the Python actors (clean, score, judge, publish). It holds only the handlers: the AsyncActor's
# runtime container is started with the runtime file that inject-sidecar mounts from the asya-runtime
# ConfigMap (python3 /opt/asya/asya_runtime.py), which finds the handlers on PYTHONPATH.
#   docker build -f python.Dockerfile -t registry.example.com/asya-examples/pipeline-python:0.1.0 .
FROM python:3.11-slim
WORKDIR /app
COPY handlers/ /app/handlers/
ENV PYTHONPATH=/app/handlers PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 1000:1000
