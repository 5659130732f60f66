// Request and reply over a Worker's messages: each request carries an id, and its reply the same id.
let next = 0;

/** Posts `message` to `worker` and resolves with its reply (rejects with the worker's error). */
export function request(worker, message) {
  const id = ++next;
  return new Promise((resolve, reject) => {
    const onMessage = ({ data }) => {
      if (data.id !== id) return;
      worker.removeEventListener('message', onMessage);
      if (data.error) reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
      else resolve(data.result);
    };
    worker.addEventListener('message', onMessage);
    worker.postMessage({ ...message, id });
  });
}

/** Answers requests in a Worker: `handlers[type](message)` gives the reply. */
export function serve(handlers) {
  self.addEventListener('message', async ({ data }) => {
    try {
      self.postMessage({ id: data.id, result: await handlers[data.type](data) });
    } catch (error) {
      self.postMessage({ id: data.id, error: { message: error.message, code: error.code } });
    }
  });
}
