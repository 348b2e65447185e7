// Runs the script named after it with the umask most hosts have (022), as a login shell would:
// files vpncp creates must still not be readable by group or others.
process.umask(0o022);
process.argv.splice(1, 1);
await import(process.argv[1]);
