package activesync

// Not built yet: answered 501 by the stub below until its command lands.

func (h *Handler) cmdSendMail(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdSmartReply(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdSmartForward(rq *request) (*response, error) {
	return &response{status: 501}, nil
}
