export const handler = async (event, context) => {
  const name = event.queryStringParameters?.name ?? "lambda";
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      message: `hi ${name}`,
      method: event.requestContext.http.method,
      path: event.rawPath,
      requestId: context.awsRequestId,
    }),
  };
};
