// aws-local-stepfunctions 3.x calls Promise.withResolvers (Node >= 22). Node 20 lacks it: add the
// standard behaviour (ES2024) when missing, so the same code runs on Node 20 and 22.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// The AWS SDK warns once per process that Node 20 support ends in 2027. This project runs on Node 20
// too (README: Node versions); the warning would interleave with CLI/test output, so it is silenced here only if
// the user has not decided otherwise.
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}
