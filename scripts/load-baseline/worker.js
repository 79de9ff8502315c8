// The baseline of `npm run load -- --target baseline`: reads each request's body and answers, nothing else.
export default {
  async fetch(request) {
    await request.arrayBuffer();
    return Response.json({});
  },
};
