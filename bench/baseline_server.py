"""Baseline for the cold-start benchmark: a Python MCP server (the `mcp`
SDK's MCPServer) with the same three tool names, served over stateless
Streamable HTTP with JSON responses, like ours."""
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer(name="baseline", version="0")


@server.tool()
def health_check() -> dict:
    """Server health."""
    return {"status": "healthy"}


@server.tool()
def get_server_info() -> dict:
    """Server information."""
    return {"server": {"name": "baseline"}}


@server.tool()
def analyze_security_findings(
    severity_threshold: str = "MEDIUM", time_range_days: int = 30, include_remediation: bool = True, max_findings: int = 500
) -> dict:
    """Findings analysis placeholder for the benchmark (not a product)."""
    return {"analysis_id": "baseline"}


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]), json_response=True, stateless_http=True)
