package activesync

// Not built yet: answered 501 by the stub below until its command lands.

func (h *Handler) cmdPing(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdGetItemEstimate(rq *request) (*response, error) {
	return &response{status: 501}, nil
}
