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
