// The root entry is for Nest apps. Nest is an optional peer, so that an app without Nest installs
// none of it (it imports `nest-keyring/express`); a Nest app that lacks a peer is told what to
// install. Only CommonJS gets here first: ES modules fail in Node's resolver, naming the package.
if (typeof require === 'function') {
  const missing = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'].filter((name) => {
    try {
      return !require.resolve(name);
    } catch {
      return true;
    }
  });
  if (missing.length > 0)
    throw new Error(
      `nest-keyring needs ${missing.join(', ')} for Nest apps: npm install ${missing.join(' ')}. ` +
        `Apps without Nest import 'nest-keyring/express'.`,
    );
}
