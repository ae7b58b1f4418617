# The service image, built from this repository: the API (the default command), the projector
# (`node dist/apps/projector/src/main.js`), the relay (`node dist/apps/relay/src/main.js`) and the CLI.
# Each handles SIGTERM itself (graceful: batch in hand, checkpoint, lease released), so node runs as PID 1.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The benchmark's Emmett baselines are local dev-dependency packages that npm ci needs to see.
COPY bench/baselines/sqlite-pair/package.json bench/baselines/sqlite-pair/
COPY bench/baselines/postgresql-pair/package.json bench/baselines/postgresql-pair/
# npm ci applies them (postinstall): see patches/README.md.
COPY patches/ patches/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 3000
USER node
CMD ["node", "dist/apps/api/src/main.js"]
